import CaeInitCore

/// Where an initialisation's files go. Implementations are safe to call concurrently: the worker keeps a bounded
/// number of `put` calls in flight per initialisation.
public protocol Sink: Sendable {
    var configuration: SinkConfiguration { get }

    /// Checks the destination before anything is written: the S3 bucket exists, the Azure container is created
    /// when missing, the local directory is made. Throws `SinkError`.
    func prepare() async throws

    /// Writes one object whole or not at all (`Content-Type: application/json`), retrying per the sink's
    /// `retryPolicy`. Throws `SinkError`.
    func put(_ objectName: String, body: [UInt8]) async throws

    /// Releases what the sink holds. Shared resources (the HTTP client) belong to the caller.
    func shutdown() async throws
}

extension Sink {
    public func shutdown() async throws {}
}

/// A failed sink operation: which sink, which object, the HTTP status and the service's own error code. Its
/// `description` is what an operator reads in the filter's `message`, and holds no secret.
public struct SinkError: Error, Sendable, CustomStringConvertible {
    /// The sink type (`AWS S3`, `Azure Blob Storage`, `Local Directory`).
    public var sinkType: String
    /// The object or container the operation was about, when there is one.
    public var objectName: String?
    /// The HTTP status the service answered, for the remote sinks.
    public var httpStatus: Int?
    /// The service's own error code (`SignatureDoesNotMatch`, `NoSuchBucket`, `AuthenticationFailed`).
    public var serviceCode: String?
    /// What went wrong, in words.
    public var message: String
    /// Connection errors, time-outs, HTTP 408, 429 and 5xx are worth retrying; nothing else is.
    public var isRetryable: Bool

    public init(sinkType: String, objectName: String? = nil, httpStatus: Int? = nil, serviceCode: String? = nil, message: String, isRetryable: Bool) {
        self.sinkType = sinkType
        self.objectName = objectName
        self.httpStatus = httpStatus
        self.serviceCode = serviceCode
        self.message = message
        self.isRetryable = isRetryable
    }

    /// SPEC §7: retry on 408, 429 and 5xx; never on another 4xx.
    public static func isRetryable(httpStatus: Int) -> Bool {
        httpStatus == 408 || httpStatus == 429 || (500...599).contains(httpStatus)
    }

    public var description: String {
        var text = sinkType == SinkConfiguration.s3Type ? "S3" : sinkType
        if let httpStatus { text += " \(httpStatus)" }
        if let serviceCode { text += " \(serviceCode)" }
        text += ": \(message)"
        if let objectName { text += " (object \(objectName))" }
        return text
    }
}

/// Runs a sink operation under a `RetryPolicy` (SPEC §7): retryable failures are retried up to `maxRetries`
/// times with the policy's waits; any other failure ends at once.
public struct RetryExecutor: Sendable {
    public let policy: RetryPolicy
    /// Waits between attempts; tests record the waits instead of sleeping.
    public let sleep: @Sendable (Duration) async throws -> Void
    /// Called before each retry with the failure, the retry number (1-based) and the wait.
    public let onRetry: @Sendable (SinkError, Int, Duration) -> Void

    public init(
        policy: RetryPolicy,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        onRetry: @escaping @Sendable (SinkError, Int, Duration) -> Void = { _, _, _ in }
    ) {
        self.policy = policy
        self.sleep = sleep
        self.onRetry = onRetry
    }

    public func run<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        var retry = 0
        while true {
            do {
                return try await operation()
            } catch let error as SinkError where error.isRetryable && retry < policy.maxRetries {
                retry += 1
                let delay = policy.delay(beforeRetry: retry)
                onRetry(error, retry, delay)
                try await sleep(delay)
            }
        }
    }
}
