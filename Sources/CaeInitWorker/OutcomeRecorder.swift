import CaeInitPostgres
import CaeInitStore
import Logging

/// Writes a run's outcome (ready, failed, retry, release), always conditionally on the claim. It retries through
/// database faults until the lease would end or the shutdown deadline comes, whichever is first, and it is shielded
/// from the caller's cancellation: a run cancelled at shutdown must still release its claim.
struct OutcomeRecorder: Sendable {
    let shutdown: ShutdownDeadline
    /// First wait between two attempts, doubled up to `maxRetryDelay`.
    var firstRetryDelay: Duration = .milliseconds(250)
    var maxRetryDelay: Duration = .seconds(2)

    /// Returns whether the claim was still held (the outcome written), nil if the database could not tell in time.
    func record(
        _ keeper: ClaimKeeper, leaseDeadline: ContinuousClock.Instant, logger: Logger,
        _ body: @escaping @Sendable (SubscriptionStore) async throws(PostgresError) -> Bool
    ) async -> Bool? {
        // An unstructured task: the caller's cancellation does not reach it, and `.value` waits for it.
        await Task { [shutdown, firstRetryDelay, maxRetryDelay] in
            var delay = firstRetryDelay
            var failures = 0
            while true {
                do throws(PostgresError) {
                    let held = try await keeper.perform(body)
                    if failures > 0 { logger.info("outcome recorded after \(failures) failed attempt(s)") }
                    return held
                } catch {
                    let deadline = shutdown.bounding(leaseDeadline)
                    guard error.isTransient, ContinuousClock.now + delay < deadline else {
                        logger.error("could not record the outcome: the filter will be claimed again when its lease ends", metadata: ["error": "\(error)"])
                        return nil
                    }
                    // One line per streak, not one per attempt: the database may be down for the whole lease.
                    if failures == 0 {
                        logger.warning("database unavailable while recording the outcome, retrying", metadata: ["error": "\(error)"])
                    }
                    failures += 1
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, maxRetryDelay)
                }
            }
        }.value
    }
}
