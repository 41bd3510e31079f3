import CaeInitCore
import CaeInitPostgres

extension SubscriptionStore {
    /// Atomically takes one claimable filter of an active subscription: a `new` one whose backoff has ended, or a
    /// `pending` one whose lease expired (its worker died). `FOR UPDATE SKIP LOCKED` keeps workers from
    /// colliding; the short transaction is the statement itself. A stored value that does not fit (a sink that does
    /// not open, filters that are not an object) comes back in `Claim.problem`, so that the filter fails naming it.
    public func claim(initializer: String, lease: Duration) async throws(PostgresError) -> Claim? {
        let rows = try await connection.query("""
            WITH candidate AS (
                SELECT f.subscription_id, f.key
                FROM cae_key_filter f JOIN cae_subscription s ON s.id = f.subscription_id
                WHERE NOT s.suspended
                  AND ((f.status = 'new' AND f.run_after <= now()) OR (f.status = 'pending' AND f.lease_expires_at < now()))
                ORDER BY f.run_after, f.subscription_id, f.position
                LIMIT 1
                FOR UPDATE OF f SKIP LOCKED
            )
            UPDATE cae_key_filter f
            SET status = 'pending', initializer = \(initializer), attempt = f.attempt + 1, claim_id = gen_random_uuid(),
                lease_expires_at = now() + make_interval(secs => \(lease)::double precision),
                message = NULL, report = json_build_object('locked', true, 'attempt', f.attempt + 1), updated_at = now()
            FROM candidate c, cae_subscription s
            WHERE f.subscription_id = c.subscription_id AND f.key = c.key AND s.id = c.subscription_id
            RETURNING f.subscription_id, f.key::text, f.claim_id::text, f.attempt, s.sink::text, s.filters::text, s.init_with_history
            """)
        guard let row = rows.typed.first else { return nil }
        let (subscriptionId, key, claimId, attempt, sinkText, filtersText, initWithHistory) = try row.decode(
            String.self, String.self, String.self, Int.self, String.self, String?.self, Bool.self)
        var problems: [String] = []
        var sink = JSONValue.null
        do {
            sink = .object(try sealer.open(try StoredJSON.object(sinkText, column: "sink")))
        } catch {
            problems.append("\(error)")
        }
        var filters: JSONObject?
        do {
            filters = try filtersText.map { text throws(StoreError) in try StoredJSON.object(text, column: "filters") }
        } catch {
            problems.append("\(error)")
        }
        return Claim(
            subscriptionId: subscriptionId, key: key, claimId: claimId, attempt: attempt, initializer: initializer,
            sink: sink, filters: filters, initWithHistory: initWithHistory,
            problem: problems.isEmpty ? nil : problems.joined(separator: "; ")
        )
    }

    /// Renews the lease, and with a `report` (the run's progress) replaces the pending filter's report in the same
    /// statement; false when the claim is no longer held (reset, removed, or taken after expiry).
    public func heartbeat(_ claim: Claim, lease: Duration, report: JSONValue? = nil) async throws(PostgresError) -> Bool {
        let rows = try await connection.query("""
            UPDATE cae_key_filter SET lease_expires_at = now() + make_interval(secs => \(lease)::double precision),
                   report = COALESCE(\(report?.serialized())::json, report)
            WHERE subscription_id = \(claim.subscriptionId) AND key = \(claim.key)::uuid AND claim_id = \(claim.claimId)::uuid AND status = 'pending'
            """)
        return rows.affectedRows == 1
    }

    /// `ready` with message `success` and the report; false (nothing written) when the claim was lost.
    public func markReady(_ claim: Claim, report: JSONValue) async throws(PostgresError) -> Bool {
        try await finish(claim, status: .ready, message: "success", report: report, lastError: nil)
    }

    /// `failed` with a reason an operator can act on; false (nothing written) when the claim was lost.
    public func markFailed(_ claim: Claim, message: String, report: JSONValue) async throws(PostgresError) -> Bool {
        try await finish(claim, status: .failed, message: message, report: report, lastError: message)
    }

    private func finish(_ claim: Claim, status: KeyFilterStatus, message: String, report: JSONValue, lastError: String?) async throws(PostgresError) -> Bool {
        let rows = try await connection.query("""
            UPDATE cae_key_filter SET status = \(status.rawValue), message = \(message), report = \(report.serialized())::json, last_error = \(lastError),
                claim_id = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE subscription_id = \(claim.subscriptionId) AND key = \(claim.key)::uuid AND claim_id = \(claim.claimId)::uuid AND status = 'pending'
            """)
        return rows.affectedRows == 1
    }

    /// Back to `new`, claimable again after `delay`: a transient failure to retry later. The attempt stays counted.
    public func scheduleRetry(_ claim: Claim, after delay: Duration, message: String) async throws(PostgresError) -> Bool {
        let rows = try await connection.query("""
            UPDATE cae_key_filter SET status = 'new', run_after = now() + make_interval(secs => \(delay)::double precision),
                message = \(message), last_error = \(message), report = json_build_object('locked', false, 'attempt', attempt),
                claim_id = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE subscription_id = \(claim.subscriptionId) AND key = \(claim.key)::uuid AND claim_id = \(claim.claimId)::uuid AND status = 'pending'
            """)
        return rows.affectedRows == 1
    }

    /// Back to `new` untouched, immediately claimable, the attempt not counted: a run given up at shutdown.
    public func release(_ claim: Claim) async throws(PostgresError) -> Bool {
        let rows = try await connection.query("""
            UPDATE cae_key_filter SET status = 'new', run_after = now(), attempt = greatest(attempt - 1, 0),
                initializer = NULL, report = NULL, message = NULL, claim_id = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE subscription_id = \(claim.subscriptionId) AND key = \(claim.key)::uuid AND claim_id = \(claim.claimId)::uuid AND status = 'pending'
            """)
        return rows.affectedRows == 1
    }

    /// How long until the next `new` filter of an active subscription becomes claimable (zero if one is claimable
    /// now), or nil when none is left.
    public func timeUntilNextClaimable() async throws(PostgresError) -> Duration? {
        let rows = try await connection.query("""
            SELECT extract(epoch FROM min(f.run_after) - now())::double precision
            FROM cae_key_filter f JOIN cae_subscription s ON s.id = f.subscription_id
            WHERE f.status = 'new' AND NOT s.suspended
            """)
        // min() of no rows is NULL: nothing left. (greatest() would turn it into 0.)
        guard let seconds = try rows.decode(Double?.self).first ?? nil else { return nil }
        return .milliseconds(Int64(max(0, seconds) * 1000))
    }

    public func statusReport() async throws(PostgresError) -> KeyFilterStatusReport {
        var byStatus: [KeyFilterStatus: Int] = [:]
        for (status, count) in try await connection.query("SELECT status, count(*) FROM cae_key_filter GROUP BY status").decode(String.self, Int.self) {
            if let status = KeyFilterStatus(rawValue: status) { byStatus[status] = count }
        }
        let pending = try await connection.query("""
            SELECT subscription_id, key::text, initializer, attempt,
                   to_char(lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), lease_expires_at < now(),
                   \(unescaped: Self.progressField("written")), \(unescaped: Self.progressField("total")),
                   \(unescaped: Self.progressField("startedAt")), \(unescaped: Self.progressField("updatedAt"))
            FROM cae_key_filter WHERE status = 'pending' ORDER BY lease_expires_at
            """).decode(String.self, String.self, String?.self, Int.self, String.self, Bool.self, Int64?.self, Int64?.self, Int64?.self, Int64?.self)
        let failed = try await connection.query(
            "SELECT subscription_id, key::text, message FROM cae_key_filter WHERE status = 'failed' ORDER BY updated_at"
        ).decode(String.self, String.self, String?.self)
        let waiting = try await connection.query("""
            SELECT count(*) FROM cae_key_filter f JOIN cae_subscription s ON s.id = f.subscription_id
            WHERE f.status = 'new' AND (s.suspended OR f.run_after > now())
            """).decode(Int.self).first ?? 0
        return KeyFilterStatusReport(
            counts: byStatus,
            pending: pending.map {
                .init(subscriptionId: $0.0, key: $0.1, initializer: $0.2, attempt: $0.3, leaseExpiresAt: $0.4, leaseExpired: $0.5,
                      progress: KeyFilterStatusReport.Progress(written: $0.6, total: $0.7, startedAt: $0.8, updatedAt: $0.9))
            },
            failed: failed.map { .init(subscriptionId: $0.0, key: $0.1, message: $0.2) },
            waiting: waiting
        )
    }

    /// One number of a pending report's `progress`, NULL unless it is a plain non-negative integer (a report edited
    /// by hand must not break `status`).
    static func progressField(_ name: String) -> String {
        "CASE WHEN report->'progress'->>'\(name)' ~ '^[0-9]{1,15}$' THEN (report->'progress'->>'\(name)')::bigint END"
    }
}
