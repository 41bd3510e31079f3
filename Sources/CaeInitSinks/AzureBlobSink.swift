import AsyncHTTPClient
import CaeInitCore
import Crypto
import Logging
import NIOCore
import NIOHTTP1

/// The `Azure Blob Storage` sink: one Put Blob (block blob, stored whole or not at all) per file, signed with
/// Shared Key, on the process's shared `HTTPClient`. The base URL is `https://<account>.blob.core.windows.net`, or
/// `options.endpoint` (an emulator's `http://127.0.0.1:10000/<account>`, whose path is part of what is signed).
public struct AzureBlobSink: Sink {
    /// The service version the requests speak.
    public static let serviceVersion = "2021-08-06"

    public let configuration: SinkConfiguration
    public let azure: AzureBlobSinkConfiguration
    /// Bounds each HTTP exchange; a time-out is retried like a connection error.
    public let requestTimeout: Duration
    let httpClient: HTTPClient
    let logger: Logger
    let signer: SharedKeySigner
    let endpoint: ServiceEndpoint
    let now: @Sendable () -> UTCTimestamp
    let retrySleep: @Sendable (Duration) async throws -> Void

    /// - Parameters:
    ///   - httpClient: shared by every sink of the process and owned by the caller (never shut down here).
    ///   - now: the signing clock (`x-ms-date`); tests inject a fixed instant.
    ///   - retrySleep: the wait between attempts; tests record the waits instead of sleeping.
    public init(
        configuration: SinkConfiguration,
        azure: AzureBlobSinkConfiguration,
        httpClient: HTTPClient,
        logger: Logger = Logger(label: "cae-init.sink.azure-blob"),
        requestTimeout: Duration = .seconds(30),
        now: @escaping @Sendable () -> UTCTimestamp = { UTCTimestamp.now() },
        retrySleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) throws(SinkError) {
        guard let signer = SharedKeySigner(accountName: azure.accountName, accountKey: azure.accountKey) else {
            throw SinkError(sinkType: SinkConfiguration.azureBlobType, message: "credentials.accountKey is not valid base64", isRetryable: false)
        }
        let url = azure.endpoint ?? "https://\(azure.accountName).blob.core.windows.net"
        guard let endpoint = ServiceEndpoint(url) else {
            throw SinkError(sinkType: SinkConfiguration.azureBlobType, message: "options.endpoint \"\(url)\" is not an http:// or https:// URL without query", isRetryable: false)
        }
        self.configuration = configuration
        self.azure = azure
        self.httpClient = httpClient
        self.logger = logger
        self.requestTimeout = requestTimeout
        self.signer = signer
        self.endpoint = endpoint
        self.now = now
        self.retrySleep = retrySleep
    }

    /// Create Container: created when missing (SPEC §7); one that exists already (409 `ContainerAlreadyExists`)
    /// is fine.
    public func prepare() async throws {
        try await retryExecutor().run {
            let response = try await send(.PUT, path: containerPath, query: [("restype", "container")], body: nil)
            if response.isSuccess { return }
            if response.status == 409, errorCode(response) == "ContainerAlreadyExists" { return }
            throw failure(response, doing: "cannot create container \(azure.containerName)", object: nil)
        }
    }

    /// Put Blob. `Content-MD5` makes the service check the bytes it stored against the ones sent.
    public func put(_ objectName: String, body: [UInt8]) async throws {
        let md5 = Base64.encode(Array(Insecure.MD5.hash(data: body)))
        try await retryExecutor().run {
            let response = try await send(
                .PUT, path: blobPath(objectName), body: body, object: objectName,
                extraHeaders: [("x-ms-blob-type", "BlockBlob"), ("Content-Type", "application/json"), ("Content-MD5", md5)]
            )
            if response.isSuccess { return }
            throw failure(response, doing: "cannot write to container \(azure.containerName)", object: objectName)
        }
    }

    /// Get Blob, for checks and tests.
    public func get(_ objectName: String, limit: Int = 64 * 1024 * 1024) async throws -> [UInt8] {
        try await retryExecutor().run {
            let response = try await send(.GET, path: blobPath(objectName), body: nil, object: objectName, bodyLimit: limit)
            if response.isSuccess { return response.body }
            throw failure(response, doing: "cannot read from container \(azure.containerName)", object: objectName)
        }
    }

    /// The percent-encoded URL path of the container.
    var containerPath: String {
        endpoint.basePath + "/" + PercentEncoding.encode(azure.containerName, keepSlash: false)
    }

    /// The percent-encoded URL path of a blob: each byte of the name encoded once, `/` kept (as the SDK does).
    func blobPath(_ objectName: String) -> String {
        containerPath + "/" + PercentEncoding.encode(objectName, keepSlash: true)
    }

    private func retryExecutor() -> RetryExecutor {
        let logger = self.logger
        let location = configuration.location
        return RetryExecutor(policy: configuration.retryPolicy, sleep: retrySleep) { error, retry, delay in
            logger.warning("Azure Blob Storage request failed, retrying", metadata: [
                "error": "\(error)", "retry": "\(retry)", "delay": "\(delay)", "sink": "\(location)",
            ])
        }
    }

    private func send(
        _ method: HTTPMethod,
        path: String,
        query: [(name: String, value: String)] = [],
        body: [UInt8]?,
        object: String? = nil,
        extraHeaders: [(name: String, value: String)] = [],
        bodyLimit: Int = StorageTransport.errorBodyLimit
    ) async throws(SinkError) -> StorageResponse {
        var headers: [(name: String, value: String)] = [
            ("x-ms-date", now().rfc1123),
            ("x-ms-version", Self.serviceVersion),
        ] + extraHeaders
        // The client sends Content-Length for a PUT body; it is signed (as empty when 0).
        if let body, method == .PUT { headers.append(("Content-Length", String(body.count))) }
        let signed = signer.sign(method: method.rawValue, path: path, query: query, headers: headers)
        headers.removeAll { $0.name == "Content-Length" }
        headers.append(("Authorization", signed.authorization))
        let queryText = query.map { "\(PercentEncoding.encode($0.name, keepSlash: false))=\(PercentEncoding.encode($0.value, keepSlash: false))" }.joined(separator: "&")
        return try await StorageTransport.send(
            client: httpClient, method: method, url: endpoint.url(path: path, query: queryText), headers: headers,
            body: body, timeout: requestTimeout.timeAmount, bodyLimit: bodyLimit, logger: logger
        ) { message, retryable in
            SinkError(sinkType: SinkConfiguration.azureBlobType, objectName: object, message: message, isRetryable: retryable)
        }
    }

    private func errorCode(_ response: StorageResponse) -> String? {
        response.header("x-ms-error-code") ?? ServiceErrorBody(xml: response.body).code
    }

    /// An Azure error answer as a `SinkError`: `x-ms-error-code` (or the body's `<Code>`) and the first line of
    /// `<Message>`, never the request's headers.
    private func failure(_ response: StorageResponse, doing action: String, object: String?) -> SinkError {
        let parsed = ServiceErrorBody(xml: response.body)
        var message = "\(action) (\(configuration.location)): " + (parsed.message ?? "HTTP \(response.status) \(HTTPResponseStatus(statusCode: response.status).reasonPhrase)")
        if let requestId = response.header("x-ms-request-id") { message += " [request id \(requestId)]" }
        return SinkError(
            sinkType: SinkConfiguration.azureBlobType, objectName: object, httpStatus: response.status,
            serviceCode: response.header("x-ms-error-code") ?? parsed.code, message: message,
            isRetryable: SinkError.isRetryable(httpStatus: response.status)
        )
    }
}
