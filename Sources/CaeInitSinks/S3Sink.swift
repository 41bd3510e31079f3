import AsyncHTTPClient
import CaeInitCore
import Logging
import NIOCore
import NIOHTTP1

/// The `AWS S3` sink: one signed PUT Object per file (S3 stores an object whole or not at all), on the process's
/// shared `HTTPClient`. With `options.endpoint` the bucket is addressed path-style (`<endpoint>/<bucket>/<key>`, as
/// S3-compatible servers want); without, virtual-hosted style on AWS.
public struct S3Sink: Sink {
    public let configuration: SinkConfiguration
    public let s3: S3SinkConfiguration
    /// Bounds each HTTP exchange; a time-out is retried like a connection error.
    public let requestTimeout: Duration
    let httpClient: HTTPClient
    let logger: Logger
    let signer: SigV4Signer
    let endpoint: ServiceEndpoint
    /// The raw (not percent-encoded) path of the bucket: `/<bucket>` path-style, empty virtual-hosted.
    let bucketPath: String
    let now: @Sendable () -> UTCTimestamp
    let retrySleep: @Sendable (Duration) async throws -> Void

    /// - Parameters:
    ///   - httpClient: shared by every sink of the process and owned by the caller (never shut down here).
    ///   - now: the signing clock; tests inject a fixed instant.
    ///   - retrySleep: the wait between attempts; tests record the waits instead of sleeping.
    public init(
        configuration: SinkConfiguration,
        s3: S3SinkConfiguration,
        httpClient: HTTPClient,
        logger: Logger = Logger(label: "cae-init.sink.s3"),
        requestTimeout: Duration = .seconds(30),
        now: @escaping @Sendable () -> UTCTimestamp = { UTCTimestamp.now() },
        retrySleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) throws(SinkError) {
        self.configuration = configuration
        self.s3 = s3
        self.httpClient = httpClient
        self.logger = logger
        self.requestTimeout = requestTimeout
        self.now = now
        self.retrySleep = retrySleep
        self.signer = SigV4Signer(accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, sessionToken: s3.sessionToken, region: s3.region, service: "s3")
        if let url = s3.endpoint {
            guard let endpoint = ServiceEndpoint(url) else {
                throw SinkError(sinkType: SinkConfiguration.s3Type, message: "options.endpoint \"\(url)\" is not an http:// or https:// URL without query", isRetryable: false)
            }
            self.endpoint = endpoint
            self.bucketPath = PercentEncoding.decode(endpoint.basePath) + "/" + s3.bucketName
        } else {
            let domain = s3.region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
            if s3.bucketName.contains(".") {
                // A dotted bucket name does not match the wildcard TLS certificate of virtual-hosted style.
                self.endpoint = ServiceEndpoint(scheme: "https", host: "s3.\(s3.region).\(domain)")
                self.bucketPath = "/" + s3.bucketName
            } else {
                self.endpoint = ServiceEndpoint(scheme: "https", host: "\(s3.bucketName).s3.\(s3.region).\(domain)")
                self.bucketPath = ""
            }
        }
    }

    /// HEAD Bucket: the bucket must exist and the credentials must reach it (SPEC §7: a missing bucket fails with
    /// a clear message).
    public func prepare() async throws {
        try await retryExecutor().run {
            let response = try await send(.HEAD, rawPath: bucketPath.isEmpty ? "/" : bucketPath)
            if response.isSuccess { return }
            throw await bucketFailure(response)
        }
    }

    public func put(_ objectName: String, body: [UInt8]) async throws {
        let payloadHash = SigV4Signer.sha256Hex(body)
        try await retryExecutor().run {
            let response = try await send(
                .PUT, rawPath: objectPath(objectName), body: body, payloadHash: payloadHash,
                extraHeaders: [("Content-Type", "application/json")], object: objectName
            )
            if response.isSuccess { return }
            throw failure(response, doing: "cannot write to bucket \(s3.bucketName)", object: objectName)
        }
    }

    /// Reads an object back (signed GET Object), for checks and tests.
    public func get(_ objectName: String, limit: Int = 64 * 1024 * 1024) async throws -> [UInt8] {
        try await retryExecutor().run {
            let response = try await send(.GET, rawPath: objectPath(objectName), object: objectName, bodyLimit: limit)
            if response.isSuccess { return response.body }
            throw failure(response, doing: "cannot read from bucket \(s3.bucketName)", object: objectName)
        }
    }

    func objectPath(_ objectName: String) -> String {
        bucketPath + "/" + objectName
    }

    private func retryExecutor() -> RetryExecutor {
        let logger = self.logger
        let location = configuration.location
        return RetryExecutor(policy: configuration.retryPolicy, sleep: retrySleep) { error, retry, delay in
            logger.warning("S3 request failed, retrying", metadata: [
                "error": "\(error)", "retry": "\(retry)", "delay": "\(delay)", "sink": "\(location)",
            ])
        }
    }

    /// Signs and sends one request. The signed path is the path sent: each raw byte encoded once.
    private func send(
        _ method: HTTPMethod,
        rawPath: String,
        query: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        payloadHash: String = SigV4Signer.emptyPayloadHash,
        extraHeaders: [(name: String, value: String)] = [],
        object: String? = nil,
        bodyLimit: Int = StorageTransport.errorBodyLimit
    ) async throws(SinkError) -> StorageResponse {
        let signed = signer.sign(
            method: method.rawValue, path: rawPath, query: query,
            headers: [("Host", endpoint.host)] + extraHeaders, payloadHash: payloadHash, date: now()
        )
        let url = endpoint.url(path: SigV4Signer.canonicalURI(rawPath), query: SigV4Signer.canonicalQuery(query))
        return try await StorageTransport.send(
            client: httpClient, method: method, url: url, headers: signed.headers, body: body,
            timeout: requestTimeout.timeAmount,
            bodyLimit: bodyLimit, logger: logger
        ) { message, retryable in
            SinkError(sinkType: SinkConfiguration.s3Type, objectName: object, message: message, isRetryable: retryable)
        }
    }

    /// Why HEAD Bucket failed. HEAD answers carry no body, so a 404 is named `NoSuchBucket` here, and for another
    /// refusal a GET of the bucket (listing nothing) fetches S3's own error code.
    private func bucketFailure(_ response: StorageResponse) async -> SinkError {
        let bucket = s3.bucketName
        switch response.status {
        case 404:
            return SinkError(
                sinkType: SinkConfiguration.s3Type, httpStatus: 404, serviceCode: "NoSuchBucket",
                message: "bucket \"\(bucket)\" does not exist (\(configuration.location)); create it or fix options.bucketName",
                isRetryable: false
            )
        case 301, 307, 400:
            guard let actual = response.header("x-amz-bucket-region"), actual != s3.region else { fallthrough }
            return SinkError(
                sinkType: SinkConfiguration.s3Type, httpStatus: response.status, serviceCode: "PermanentRedirect",
                message: "bucket \"\(bucket)\" is in region \(actual), not \(s3.region); fix credentials.region",
                isRetryable: false
            )
        default:
            var explained = response
            if ServiceErrorBody(xml: response.body).code == nil, !SinkError.isRetryable(httpStatus: response.status),
               let listing = try? await send(.GET, rawPath: bucketPath.isEmpty ? "/" : bucketPath, query: [("max-keys", "0")]),
               listing.status == response.status {
                explained = listing
            }
            return failure(explained, doing: "cannot reach bucket \(bucket)", object: nil)
        }
    }

    /// An S3 error answer as a `SinkError`: S3's `<Code>` and `<Message>`, never the request's headers.
    private func failure(_ response: StorageResponse, doing action: String, object: String?) -> SinkError {
        let parsed = ServiceErrorBody(xml: response.body)
        var message = "\(action): " + (parsed.message ?? "HTTP \(response.status) \(HTTPResponseStatus(statusCode: response.status).reasonPhrase)")
        if let requestId = response.header("x-amz-request-id") { message += " [request id \(requestId)]" }
        return SinkError(
            sinkType: SinkConfiguration.s3Type, objectName: object, httpStatus: response.status,
            serviceCode: parsed.code ?? (response.status == 404 && object != nil ? "NoSuchKey" : nil), message: message,
            isRetryable: SinkError.isRetryable(httpStatus: response.status)
        )
    }
}

extension Duration {
    /// NIO's `TimeAmount` of this duration.
    var timeAmount: TimeAmount {
        .nanoseconds(components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000)
    }
}
