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
    let client: SignedStorageClient
    let signer: SharedKeySigner

    var endpoint: ServiceEndpoint { client.endpoint }

    /// - Parameters:
    ///   - httpClient: shared by every sink of the process and owned by the caller (never shut down here).
    ///   - now: the signing clock (`x-ms-date`); tests inject a fixed instant.
    ///   - retrySleep: the wait between attempts; tests record the waits instead of sleeping.
    ///   - inFlight: bounds the requests in flight, adapting to the service's throttling (nil: unbounded here).
    public init(
        configuration: SinkConfiguration,
        azure: AzureBlobSinkConfiguration,
        httpClient: HTTPClient,
        logger: Logger = Logger(label: "cae-init.sink.azure-blob"),
        requestTimeout: Duration = .seconds(30),
        now: @escaping @Sendable () -> UTCTimestamp = { UTCTimestamp.now() },
        retrySleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        inFlight: AdaptiveConcurrencyGate? = nil
    ) throws(SinkError) {
        guard let signer = SharedKeySigner(accountName: azure.accountName, accountKey: azure.accountKey) else {
            throw SinkError(sinkType: SinkConfiguration.azureBlobType, message: "credentials.accountKey is not valid base64", isRetryable: false)
        }
        let url = azure.endpoint ?? "https://\(azure.accountName).blob.core.windows.net"
        let endpoint = try ServiceEndpoint(option: url, sinkType: SinkConfiguration.azureBlobType)
        self.configuration = configuration
        self.azure = azure
        self.signer = signer
        self.client = SignedStorageClient(
            configuration: configuration, httpClient: httpClient, endpoint: endpoint, requestTimeout: requestTimeout,
            logger: logger, now: now, dialect: .init(requestIdHeader: "x-ms-request-id", errorCodeHeader: "x-ms-error-code", objectNotFoundCode: nil),
            retrySleep: retrySleep, inFlight: inFlight
        )
    }

    /// Create Container: created when missing (SPEC §7); one that exists already (409 `ContainerAlreadyExists`)
    /// is fine.
    public func prepare() async throws(SinkError) {
        let client = self.client
        _ = try await client.perform(
            doing: "cannot create container \(azure.containerName) (\(configuration.location))",
            accepting: { $0.isSuccess || ($0.status == 409 && client.serviceCode($0, object: nil) == "ContainerAlreadyExists") }
        ) { () async throws(SinkError) in
            try await send(.PUT, path: containerPath, query: [("restype", "container")], body: nil)
        }
    }

    /// Put Blob. `Content-MD5` makes the service check the bytes it stored against the ones sent.
    public func put(_ objectName: String, body: [UInt8]) async throws(SinkError) {
        let md5 = Base64.encode(Array(Insecure.MD5.hash(data: body)))
        _ = try await client.perform(doing: "cannot write to container \(azure.containerName) (\(configuration.location))", object: objectName) { () async throws(SinkError) in
            try await send(
                .PUT, path: blobPath(objectName), body: body, object: objectName,
                extraHeaders: [("x-ms-blob-type", "BlockBlob"), ("Content-Type", "application/json"), ("Content-MD5", md5)]
            )
        }
    }

    /// Get Blob, for checks and tests.
    public func get(_ objectName: String, limit: Int = 64 * 1024 * 1024) async throws(SinkError) -> [UInt8] {
        try await client.perform(doing: "cannot read from container \(azure.containerName) (\(configuration.location))", object: objectName) { () async throws(SinkError) in
            try await send(.GET, path: blobPath(objectName), body: nil, object: objectName, bodyLimit: limit)
        }.body
    }

    /// The percent-encoded URL path of the container.
    var containerPath: String {
        endpoint.basePath + "/" + PercentEncoding.encode(azure.containerName, keepSlash: false)
    }

    /// The percent-encoded URL path of a blob: each byte of the name encoded once, `/` kept (as the SDK does).
    func blobPath(_ objectName: String) -> String {
        containerPath + "/" + PercentEncoding.encode(objectName, keepSlash: true)
    }

    /// Signs (Shared Key) and sends one request.
    private func send(
        _ method: HTTPMethod,
        path: String,
        query: [(name: String, value: String)] = [],
        body: [UInt8]?,
        object: String? = nil,
        extraHeaders: [(name: String, value: String)] = [],
        bodyLimit: Int = SignedStorageClient.errorBodyLimit
    ) async throws(SinkError) -> StorageResponse {
        var headers: [(name: String, value: String)] = [
            ("x-ms-date", client.now().rfc1123),
            ("x-ms-version", Self.serviceVersion),
        ] + extraHeaders
        // The client sends Content-Length for a PUT body; it is signed (as empty when 0).
        if let body, method == .PUT { headers.append(("Content-Length", String(body.count))) }
        let signed = signer.sign(method: method.rawValue, path: path, query: query, headers: headers)
        headers.removeAll { $0.name == "Content-Length" }
        headers.append(("Authorization", signed.authorization))
        let queryText = query.map { "\(PercentEncoding.encode($0.name, keepSlash: false))=\(PercentEncoding.encode($0.value, keepSlash: false))" }.joined(separator: "&")
        return try await client.send(method, path: path, query: queryText, headers: headers, body: body, object: object, bodyLimit: bodyLimit)
    }
}
