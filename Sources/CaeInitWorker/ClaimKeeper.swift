import CaeInitPostgres
import CaeInitStore
import Logging

/// Holds one claim's store connection: renews the lease and writes the outcome, reconnecting after a database
/// fault. An actor, so the connection serves one statement at a time.
actor ClaimKeeper {
    let claim: Claim
    let conninfo: String
    let leaseSeconds: Double
    let logger: Logger
    private var store: SubscriptionStore?

    init(claim: Claim, conninfo: String, leaseSeconds: Double, logger: Logger) {
        self.claim = claim
        self.conninfo = conninfo
        self.leaseSeconds = leaseSeconds
        self.logger = logger
    }

    private func connectedStore() async throws(PostgresError) -> SubscriptionStore {
        if let store { return store }
        let connection = try await PostgresConnection.connect(conninfo, applicationName: "cae-init \(claim.initializer)")
        let store = SubscriptionStore(connection: connection)
        self.store = store
        return store
    }

    /// Runs one statement; a broken connection is dropped so the next call reconnects.
    func perform<T: Sendable>(_ body: (SubscriptionStore) async throws(PostgresError) -> T) async throws(PostgresError) -> T {
        do {
            return try await body(try await connectedStore())
        } catch {
            if error.isTransient { store = nil }
            throw error
        }
    }

    func heartbeat() async throws(PostgresError) -> Bool {
        try await perform { store throws(PostgresError) in try await store.heartbeat(claim, leaseSeconds: leaseSeconds) }
    }

    /// Writes an outcome, retrying through database faults until `deadline` (past it the lease is gone and the
    /// filter will be claimed again anyway). Returns whether the claim was still held, nil if it could not tell.
    func record(until deadline: ContinuousClock.Instant, _ body: @Sendable (SubscriptionStore) async throws(PostgresError) -> Bool) async -> Bool? {
        var delay = Duration.milliseconds(250)
        while true {
            do throws(PostgresError) {
                return try await perform(body)
            } catch {
                guard error.isTransient, ContinuousClock.now + delay < deadline else {
                    logger.error("could not record the outcome", metadata: ["error": "\(error)"])
                    return nil
                }
                logger.warning("database unavailable while recording the outcome, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }
}
