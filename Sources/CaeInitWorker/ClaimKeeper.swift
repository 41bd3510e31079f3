import CaeInitCore
import CaeInitPostgres
import CaeInitStore
import Logging

/// Holds one claim's store connection: renews the lease and writes the outcome, reconnecting after a database
/// fault. An actor whose connection is made once even when the heartbeat and the pre-manifest check ask for it
/// at the same time (actor methods interleave at every `await`, so the connection attempt itself is shared).
actor ClaimKeeper {
    let claim: Claim
    let conninfo: String
    let lease: Duration
    private var connecting: Task<SubscriptionStore, any Error>?

    init(claim: Claim, conninfo: String, lease: Duration) {
        self.claim = claim
        self.conninfo = conninfo
        self.lease = lease
    }

    private func connectedStore() async throws(PostgresError) -> SubscriptionStore {
        let task = connecting ?? Task { [conninfo, claim] in
            SubscriptionStore(connection: try await PostgresConnection.connect(conninfo, applicationName: "cae-init \(claim.initializer) claim"))
        }
        connecting = task
        do {
            return try await task.value
        } catch {
            if connecting == task { connecting = nil }
            throw error as? PostgresError ?? PostgresError(code: .connectionFailed, message: "\(error)")
        }
    }

    /// Runs one statement; a broken connection is dropped so that the next call reconnects.
    func perform<T: Sendable>(_ body: (SubscriptionStore) async throws(PostgresError) -> T) async throws(PostgresError) -> T {
        do {
            return try await body(try await connectedStore())
        } catch {
            if error.isTransient { connecting = nil }
            throw error
        }
    }

    /// Renews the lease; with a `report`, the pending filter's report (its progress) is refreshed in the same UPDATE.
    func heartbeat(report: JSONValue? = nil) async throws(PostgresError) -> Bool {
        try await perform { store throws(PostgresError) in try await store.heartbeat(claim, lease: lease, report: report) }
    }

    /// Closes the connection, if one was made.
    func close() async {
        if let store = try? await connecting?.value { await store.connection.close() }
        connecting = nil
    }
}
