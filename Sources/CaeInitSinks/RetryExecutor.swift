import CaeInitCore

/// Runs a sink operation under a `RetryPolicy` (SPEC §7): retryable failures are retried up to `maxRetries`
/// times with the policy's waits; any other failure, and a cancellation, ends at once.
public struct RetryExecutor: Sendable {
    public let policy: RetryPolicy
    /// The sink type named in the error of a wait cut short by cancellation.
    public let sinkType: String
    /// Waits between attempts; tests record the waits instead of sleeping.
    public let sleep: @Sendable (Duration) async throws -> Void
    /// Called before each retry with the failure, the retry number (1-based) and the wait.
    public let onRetry: @Sendable (SinkError, Int, Duration) -> Void

    public init(
        policy: RetryPolicy,
        sinkType: String,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        onRetry: @escaping @Sendable (SinkError, Int, Duration) -> Void = { _, _, _ in }
    ) {
        self.policy = policy
        self.sinkType = sinkType
        self.sleep = sleep
        self.onRetry = onRetry
    }

    public func run<T: Sendable>(_ operation: () async throws(SinkError) -> T) async throws(SinkError) -> T {
        var retry = 0
        while true {
            do throws(SinkError) {
                return try await operation()
            } catch {
                guard error.isRetryable && !error.isCancellation && retry < policy.maxRetries else { throw error }
                retry += 1
                let delay = policy.delay(beforeRetry: retry)
                onRetry(error, retry, delay)
                let failure = error
                do {
                    try await sleep(delay)
                } catch {
                    // `Task.sleep` throws only when the task is cancelled.
                    throw SinkError.cancelled(sinkType: sinkType, objectName: failure.objectName)
                }
            }
        }
    }
}
