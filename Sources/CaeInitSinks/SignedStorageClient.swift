import AsyncHTTPClient
import CaeInitCore
import Logging
import NIOCore
import NIOHTTP1

/// What the S3 and Azure sinks share: one HTTP exchange on the process's client, bounded by a time-out and retried
/// under the subscription's `retryPolicy`, and the mapping of failures to `SinkError`. Every `SinkError` of a
/// remote sink is made here, and scrubbed of the configured secrets (a service may echo what it was sent, a
/// session token among it). The sinks keep only what differs: signing, paths and `prepare`.
struct SignedStorageClient: Sendable {
    /// How a service names its errors and requests, the one part of error mapping that differs between them.
    struct Dialect: Sendable {
        /// The response header with the service's request id (`x-amz-request-id`, `x-ms-request-id`).
        var requestIdHeader: String
        /// The response header with the service's error code, when there is one (`x-ms-error-code`).
        var errorCodeHeader: String?
        /// The code of a 404 about an object whose answer names none (a HEAD or a bodiless GET).
        var objectNotFoundCode: String?
    }

    /// Error bodies are short XML documents; anything beyond this is dropped.
    static let errorBodyLimit = 64 * 1024

    let configuration: SinkConfiguration
    let httpClient: HTTPClient
    let endpoint: ServiceEndpoint
    /// Bounds each HTTP exchange; a time-out is retried like a connection error.
    let requestTimeout: Duration
    let logger: Logger
    /// The signing clock; tests inject a fixed instant.
    let now: @Sendable () -> UTCTimestamp
    let dialect: Dialect
    let retryExecutor: RetryExecutor
    let scrubber: SecretScrubber
    /// Bounds the attempts of `perform` in flight, lowered when the service throttles; nil: no bound here.
    let inFlight: AdaptiveConcurrencyGate?

    /// - Parameters:
    ///   - httpClient: shared by every sink of the process and owned by the caller (never shut down here).
    ///   - retrySleep: the wait between attempts; tests record the waits instead of sleeping.
    init(
        configuration: SinkConfiguration, httpClient: HTTPClient, endpoint: ServiceEndpoint, requestTimeout: Duration,
        logger: Logger, now: @escaping @Sendable () -> UTCTimestamp, dialect: Dialect,
        retrySleep: @escaping @Sendable (Duration) async throws -> Void, inFlight: AdaptiveConcurrencyGate? = nil
    ) {
        self.inFlight = inFlight
        self.configuration = configuration
        self.httpClient = httpClient
        self.endpoint = endpoint
        self.requestTimeout = requestTimeout
        self.logger = logger
        self.now = now
        self.dialect = dialect
        self.scrubber = SecretScrubber(configuration.secrets)
        let location = configuration.location
        let sinkType = configuration.typeName
        retryExecutor = RetryExecutor(policy: configuration.retryPolicy, sinkType: sinkType, sleep: retrySleep) { error, retry, delay in
            logger.warning("\(sinkType) request failed, retrying", metadata: [
                "error": "\(error)", "retry": "\(retry)", "delay": "\(delay)", "sink": "\(location)",
            ])
        }
    }

    /// Runs `exchange` under the retry policy until it answers one of `accepted` (default: a 2xx); another
    /// answer becomes `failure(_:doing:object:)`. Each attempt holds a permit of `inFlight`, and tells it whether
    /// the service throttled it.
    func perform(
        doing action: String, object: String? = nil,
        accepting accepted: (StorageResponse) -> Bool = { $0.isSuccess },
        _ exchange: () async throws(SinkError) -> StorageResponse
    ) async throws(SinkError) -> StorageResponse {
        try await retryExecutor.run { () async throws(SinkError) -> StorageResponse in
            guard let inFlight else {
                let response = try await exchange()
                if accepted(response) { return response }
                throw failure(response, doing: action, object: object)
            }
            let permit: AdaptiveConcurrencyGate.Permit
            do {
                permit = try await inFlight.acquire()
            } catch {
                throw SinkError.cancelled(sinkType: configuration.typeName, objectName: object)
            }
            let response: StorageResponse
            do throws(SinkError) {
                response = try await exchange()
            } catch {
                inFlight.release(permit, .failed)
                throw error
            }
            if accepted(response) {
                inFlight.release(permit, .success)
                return response
            }
            let error = failure(response, doing: action, object: object)
            inFlight.release(permit, error.isThrottling ? .throttled : .failed)
            throw error
        }
    }

    /// One HTTP exchange. A failure to get an answer (connection refused or reset, time-out, TLS) becomes a
    /// retryable `SinkError`; only a request that can never be sent (a malformed URL or header) is not. Statuses
    /// are the caller's to judge.
    /// - Parameters:
    ///   - path: already percent-encoded, starting with `/`; `query` likewise encoded.
    func send(
        _ method: HTTPMethod, path: String, query: String = "", headers: [(name: String, value: String)], body: [UInt8]?,
        object: String?, bodyLimit: Int = errorBodyLimit
    ) async throws(SinkError) -> StorageResponse {
        var request = HTTPClientRequest(url: endpoint.url(path: path, query: query))
        request.method = method
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.body = .bytes(body)
        }
        do {
            let response = try await httpClient.execute(request, timeout: requestTimeout.timeAmount, logger: logger)
            var collected: [UInt8] = []
            for try await var chunk in response.body {
                let room = bodyLimit - collected.count
                if room > 0, let bytes = chunk.readBytes(length: min(room, chunk.readableBytes)) {
                    collected += bytes
                }
            }
            return StorageResponse(
                status: Int(response.status.code), headers: response.headers, body: collected,
                requestCredentials: headers.filter { $0.name.lowercased() == "authorization" }.flatMap { Self.credentials(in: $0.value) }
            )
        } catch let error as HTTPClientError where Self.unsendable.contains(error) {
            throw self.error("the request cannot be sent (\(error))", object: object, retryable: false)
        } catch {
            if error is CancellationError || Task.isCancelled {
                throw SinkError.cancelled(sinkType: configuration.typeName, objectName: object)
            }
            throw self.error("no answer from \(endpoint.scheme)://\(endpoint.host): \(Self.describe(error))", object: object, retryable: true)
        }
    }

    /// A `SinkError` of this sink, its text scrubbed of the configured secrets.
    func error(
        _ message: String, object: String? = nil, httpStatus: Int? = nil, serviceCode: String? = nil, retryable: Bool
    ) -> SinkError {
        SinkError(
            sinkType: configuration.typeName, objectName: object, httpStatus: httpStatus, serviceCode: serviceCode,
            message: message, isRetryable: retryable
        ).scrubbed(by: scrubber)
    }

    /// The service's error code for an answer: its error-code header, the body's `<Code>`, or for a 404 about an
    /// object the dialect's not-found code.
    func serviceCode(_ response: StorageResponse, object: String?) -> String? {
        dialect.errorCodeHeader.flatMap(response.header) ?? ServiceErrorBody(xml: response.body).code
            ?? (response.status == 404 && object != nil ? dialect.objectNotFoundCode : nil)
    }

    /// An error answer as a `SinkError`: the service's code and the first line of its `<Message>` (scrubbed,
    /// then shortened), and its request id; never the request's headers.
    func failure(_ response: StorageResponse, doing action: String, object: String?) -> SinkError {
        let scrubber = self.scrubber.adding(response.requestCredentials)
        let reason = ServiceErrorBody(xml: response.body).message.map { ServiceErrorBody.shortened(scrubber.scrub($0)) }
            ?? "HTTP \(response.status) \(HTTPResponseStatus(statusCode: response.status).reasonPhrase)"
        var message = "\(action): \(reason)"
        if let requestId = response.header(dialect.requestIdHeader) {
            message += " [request id \(ServiceErrorBody.shortened(scrubber.scrub(requestId), limit: 100))]"
        }
        return SinkError(
            sinkType: configuration.typeName, objectName: object, httpStatus: response.status,
            serviceCode: serviceCode(response, object: object), message: message,
            isRetryable: SinkError.isRetryable(httpStatus: response.status)
        ).scrubbed(by: scrubber)
    }

    /// An `Authorization` value and its signature: SigV4's `Signature=<hex>`, Shared Key's `<account>:<base64>`.
    static func credentials(in authorization: String) -> [Secret] {
        var credentials = [Secret(authorization)]
        if let signature = authorization.firstRange(of: "Signature=").map({ authorization[$0.upperBound...] }) ?? authorization.split(separator: ":").last,
           signature.count >= 16, signature.count < authorization.count {
            credentials.append(Secret(String(signature)))
        }
        return credentials
    }

    /// Errors that no retry can cure: the request itself is malformed.
    private static let unsendable: [HTTPClientError] = [
        .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath, .bodyLengthMismatch,
    ]

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: return "timed out (\(error))"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

extension Duration {
    /// NIO's `TimeAmount` of this duration.
    var timeAmount: TimeAmount {
        .nanoseconds(components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000)
    }
}
