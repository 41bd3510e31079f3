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
    let client: SignedStorageClient
    let signer: SigV4Signer
    /// The raw (not percent-encoded) path of the bucket: `/<bucket>` path-style, empty virtual-hosted.
    let bucketPath: String

    var endpoint: ServiceEndpoint { client.endpoint }

    /// - Parameters:
    ///   - httpClient: shared by every sink of the process and owned by the caller (never shut down here).
    ///   - now: the signing clock; tests inject a fixed instant.
    ///   - retrySleep: the wait between attempts; tests record the waits instead of sleeping.
    ///   - inFlight: bounds the requests in flight, adapting to the service's throttling (nil: unbounded here).
    public init(
        configuration: SinkConfiguration,
        s3: S3SinkConfiguration,
        httpClient: HTTPClient,
        logger: Logger = Logger(label: "cae-init.sink.s3"),
        requestTimeout: Duration = .seconds(30),
        now: @escaping @Sendable () -> UTCTimestamp = { UTCTimestamp.now() },
        retrySleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        inFlight: AdaptiveConcurrencyGate? = nil
    ) throws(SinkError) {
        let endpoint: ServiceEndpoint
        if let url = s3.endpoint {
            endpoint = try ServiceEndpoint(option: url, sinkType: SinkConfiguration.s3Type)
            bucketPath = PercentEncoding.decode(endpoint.basePath) + "/" + s3.bucketName
        } else {
            let domain = s3.region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
            if s3.bucketName.contains(".") {
                // A dotted bucket name does not match the wildcard TLS certificate of virtual-hosted style.
                endpoint = ServiceEndpoint(scheme: "https", host: "s3.\(s3.region).\(domain)")
                bucketPath = "/" + s3.bucketName
            } else {
                endpoint = ServiceEndpoint(scheme: "https", host: "\(s3.bucketName).s3.\(s3.region).\(domain)")
                bucketPath = ""
            }
        }
        self.configuration = configuration
        self.s3 = s3
        self.signer = SigV4Signer(accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, sessionToken: s3.sessionToken, region: s3.region, service: "s3")
        self.client = SignedStorageClient(
            configuration: configuration, httpClient: httpClient, endpoint: endpoint, requestTimeout: requestTimeout,
            logger: logger, now: now, dialect: .init(requestIdHeader: "x-amz-request-id", errorCodeHeader: nil, objectNotFoundCode: "NoSuchKey"),
            retrySleep: retrySleep, inFlight: inFlight
        )
    }

    /// HEAD Bucket: the bucket must exist and the credentials must reach it (SPEC §7: a missing bucket fails with
    /// a clear message).
    public func prepare() async throws(SinkError) {
        try await client.retryExecutor.run { () async throws(SinkError) in
            let response = try await send(.HEAD, rawPath: bucketRequestPath)
            if response.isSuccess { return }
            throw await bucketFailure(response)
        }
    }

    public func put(_ objectName: String, body: [UInt8]) async throws(SinkError) {
        let payloadHash = SigV4Signer.sha256Hex(body)
        _ = try await client.perform(doing: "cannot write to bucket \(s3.bucketName)", object: objectName) { () async throws(SinkError) in
            try await send(
                .PUT, rawPath: objectPath(objectName), body: body, payloadHash: payloadHash,
                extraHeaders: [("Content-Type", "application/json")], object: objectName
            )
        }
    }

    /// Reads an object back (signed GET Object), for checks and tests.
    public func get(_ objectName: String, limit: Int = 64 * 1024 * 1024) async throws(SinkError) -> [UInt8] {
        try await client.perform(doing: "cannot read from bucket \(s3.bucketName)", object: objectName) { () async throws(SinkError) in
            try await send(.GET, rawPath: objectPath(objectName), object: objectName, bodyLimit: limit)
        }.body
    }

    /// The raw path of an object: each byte is encoded once when signed and sent.
    func objectPath(_ objectName: String) -> String {
        bucketPath + "/" + objectName
    }

    private var bucketRequestPath: String { bucketPath.isEmpty ? "/" : bucketPath }

    /// Signs and sends one request. The signed path is the path sent: each raw byte encoded once.
    private func send(
        _ method: HTTPMethod,
        rawPath: String,
        query: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        payloadHash: String = SigV4Signer.emptyPayloadHash,
        extraHeaders: [(name: String, value: String)] = [],
        object: String? = nil,
        bodyLimit: Int = SignedStorageClient.errorBodyLimit
    ) async throws(SinkError) -> StorageResponse {
        let signed = signer.sign(
            method: method.rawValue, path: rawPath, query: query,
            headers: [("Host", endpoint.host)] + extraHeaders, payloadHash: payloadHash, date: client.now()
        )
        return try await client.send(
            method, path: SigV4Signer.canonicalURI(rawPath), query: SigV4Signer.canonicalQuery(query),
            headers: signed.headers, body: body, object: object, bodyLimit: bodyLimit
        )
    }

    /// Why HEAD Bucket failed. HEAD answers carry no body, so a 404 is named `NoSuchBucket` here, and for another
    /// refusal a GET of the bucket (listing nothing) fetches S3's own error code.
    private func bucketFailure(_ response: StorageResponse) async -> SinkError {
        let bucket = s3.bucketName
        switch response.status {
        case 404:
            return client.error(
                "bucket \"\(bucket)\" does not exist (\(configuration.location)); create it or fix options.bucketName",
                httpStatus: 404, serviceCode: "NoSuchBucket", retryable: false
            )
        case 301, 307, 400:
            guard let actual = response.header("x-amz-bucket-region"), actual != s3.region else { fallthrough }
            return client.error(
                "bucket \"\(bucket)\" is in region \(actual), not \(s3.region); fix credentials.region",
                httpStatus: response.status, serviceCode: "PermanentRedirect", retryable: false
            )
        default:
            var explained = response
            if ServiceErrorBody(xml: response.body).code == nil, !SinkError.isRetryable(httpStatus: response.status),
               let listing = try? await send(.GET, rawPath: bucketRequestPath, query: [("max-keys", "0")]),
               listing.status == response.status {
                explained = listing
            }
            return client.failure(explained, doing: "cannot reach bucket \(bucket)", object: nil)
        }
    }
}
