import CaeInitCore
import CaeInitPostgres

/// Why a subscription-store operation was refused (not a database fault).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case subscriptionNotFound, keyFilterNotFound, invalidInput
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The subscription store: every statement about subscriptions and key filters, for the CLI, the worker and
/// (later) the REST API alike. One store uses one connection, one task at a time.
public struct SubscriptionStore: Sendable {
    public let connection: PostgresConnection
    /// Every write of `cae_subscription.sink` goes through `sealer.seal`, every read through `sealer.open`.
    public let sealer: SinkSealer

    public init(connection: PostgresConnection, sealer: SinkSealer = .plaintext) {
        self.connection = connection
        self.sealer = sealer
    }

    // MARK: Subscriptions

    /// Stores a validated subscription (see `Subscription.parseCreation`) with a new id; its filters start `new`.
    public func create(_ draft: Subscription) async throws -> Subscription {
        let id = Self.newSubscriptionId()
        var created: Subscription?
        try await transaction { () async throws in
            try await connection.query("""
                INSERT INTO cae_subscription (id, domain, key, application_id, suspended, sink, topics, filters, init_with_history)
                VALUES ($1, $2, $1, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8)
                """, [
                    id, draft.domain, draft.applicationId, draft.suspended ? "true" : "false",
                    JSONValue.object(try sealer.seal(draft.sink)).serialized(),
                    JSONValue.array(draft.topics.map(JSONValue.string)).serialized(),
                    draft.filters.map { JSONValue.object($0).serialized() },
                    draft.initWithHistory ? "true" : "false",
                ])
            if !draft.keyFilters.isEmpty {
                _ = try await insertKeyFilters(subscriptionId: id, keys: draft.keyFilters.map(\.key))
            }
            // Read before COMMIT: a worker may claim a filter the moment it is committed, and the answer is the
            // subscription as created (its filters `new`).
            created = try await subscription(id: id)
        }
        guard let created else {
            throw StoreError(.subscriptionNotFound, "subscription \(id) vanished right after creation")
        }
        return created
    }

    public func subscription(id: String) async throws(PostgresError) -> Subscription? {
        try await subscriptions(where: "s.id = $1", [id]).first
    }

    public func subscriptions(domain: String? = nil) async throws(PostgresError) -> [Subscription] {
        if let domain { return try await subscriptions(where: "s.domain = $1", [domain]) }
        return try await subscriptions(where: "true", [])
    }

    /// The subscriptions matching `condition` (on `s`, the `cae_subscription` row), in creation order.
    func subscriptions(where condition: String, _ parameters: [String?]) async throws(PostgresError) -> [Subscription] {
        let rows = try await connection.query("""
            SELECT s.id, s.domain, s.key, s.application_id, s.suspended, s.sink::text, s.topics::text, s.filters::text, s.init_with_history,
                   coalesce((SELECT json_agg(json_build_object('key', f.key, 'status', f.status, 'initializer', f.initializer,
                                                               'message', f.message, 'report', f.report) ORDER BY f.position)
                             FROM cae_key_filter f WHERE f.subscription_id = s.id), '[]')::text
            FROM cae_subscription s WHERE \(condition) ORDER BY s.created_at, s.id
            """, parameters)
        return try rows.rows.map { (row: [String?]) throws(PostgresError) -> Subscription in
            func json(_ text: String?) throws(PostgresError) -> JSONValue {
                guard let text else { return .null }
                do { return try JSONValue.parse(text) } catch {
                    throw PostgresError(code: .unexpectedResult, message: "stored JSON is invalid: \(error)")
                }
            }
            let filters = try json(row[9]).arrayValue ?? []
            return Subscription(
                id: row[0]!, domain: row[1]!, key: row[2], keyFilters: filters.compactMap { value in
                    guard let object = value.objectValue, let key = object["key"]?.stringValue,
                          let status = object["status"]?.stringValue.flatMap(KeyFilterStatus.init(rawValue:)) else { return nil }
                    let report = object["report"].flatMap { $0.isNull ? nil : $0 }
                    return KeyFilter(key: key, status: status, initializer: object["initializer"]?.stringValue, message: object["message"]?.stringValue, report: report)
                },
                applicationId: row[3], suspended: row[4] == "t",
                sink: try openSink(try json(row[5]).objectValue ?? JSONObject()),
                topics: (try json(row[6]).arrayValue ?? []).compactMap(\.stringValue),
                filters: try json(row[7]).objectValue,
                initWithHistory: row[8] == "t"
            )
        }
    }

    private func openSink(_ stored: JSONObject) throws(PostgresError) -> JSONObject {
        do { return try sealer.open(stored) } catch {
            throw PostgresError(code: .unexpectedResult, message: "the stored sink cannot be opened: \(error)")
        }
    }

    public func setSuspended(subscriptionId: String, _ suspended: Bool) async throws {
        let result = try await connection.query("UPDATE cae_subscription SET suspended = $2, updated_at = now() WHERE id = $1", [subscriptionId, suspended ? "true" : "false"])
        if result.affectedRows == 0 { throw StoreError(.subscriptionNotFound, "no subscription \(subscriptionId)") }
    }

    public func deleteSubscription(id: String) async throws {
        let result = try await connection.query("DELETE FROM cae_subscription WHERE id = $1", [id])
        if result.affectedRows == 0 { throw StoreError(.subscriptionNotFound, "no subscription \(id)") }
    }

    // MARK: Key filters

    /// Adds dossiers as `new` filters; keys already listed are left as they are. Returns the keys added.
    public func addKeyFilters(subscriptionId: String, keys: [String]) async throws -> [String] {
        let canonical = try Self.canonicalKeys(keys)
        var added: [String] = []
        try await transaction { () async throws in
            let exists = try await connection.query("SELECT 1 FROM cae_subscription WHERE id = $1 FOR UPDATE", [subscriptionId])
            if exists.isEmpty { throw StoreError(.subscriptionNotFound, "no subscription \(subscriptionId)") }
            added = try await insertKeyFilters(subscriptionId: subscriptionId, keys: canonical)
        }
        return added
    }

    func insertKeyFilters(subscriptionId: String, keys: [String]) async throws(PostgresError) -> [String] {
        let rows = try await connection.query("""
            INSERT INTO cae_key_filter (subscription_id, key, position)
            SELECT $1, k.key::uuid, coalesce((SELECT max(position) FROM cae_key_filter WHERE subscription_id = $1), 0) + k.n
            FROM unnest($2::text[]) WITH ORDINALITY AS k(key, n)
            ON CONFLICT (subscription_id, key) DO NOTHING
            RETURNING key::text
            """, [subscriptionId, Self.textArray(keys)])
        return rows.rows.compactMap { $0[0] }
    }

    /// Puts filters back to `new` for a re-initialisation. A run still going on one of them loses its claim: its
    /// outcome is discarded and a new run follows once that run's lease has run out.
    public func resetKeyFilters(subscriptionId: String, keys: [String]) async throws {
        let canonical = try Self.canonicalKeys(keys)
        try await transaction { () async throws in
            let rows = try await resetKeyFilterRows(subscriptionId: subscriptionId, canonicalKeys: canonical)
            try Self.checkAllFound(canonical, found: rows, subscriptionId: subscriptionId)
        }
    }

    /// The reset statement of `resetKeyFilters`, for callers that hold a transaction; returns the keys reset.
    func resetKeyFilterRows(subscriptionId: String, canonicalKeys canonical: [String]) async throws(PostgresError) -> PostgresRows {
        try await connection.query("""
                UPDATE cae_key_filter SET status = 'new', attempt = 0, claim_id = NULL, lease_expires_at = NULL,
                    -- A run still going learns at its next heartbeat that it lost the claim, and stops before its lease
                    -- ends: the new run waits for that, so an older snapshot never overwrites the newer run's files.
                    run_after = CASE WHEN status = 'pending' THEN greatest(now(), lease_expires_at) ELSE now() END,
                    initializer = NULL, message = NULL, report = NULL, last_error = NULL, updated_at = now()
                WHERE subscription_id = $1 AND key = ANY($2::uuid[])
                RETURNING key::text
                """, [subscriptionId, Self.textArray(canonical)])
    }

    /// Removes filters; a run going on one of them stops and writes no status.
    public func removeKeyFilters(subscriptionId: String, keys: [String]) async throws {
        let canonical = try Self.canonicalKeys(keys)
        try await transaction { () async throws in
            let rows = try await connection.query(
                "DELETE FROM cae_key_filter WHERE subscription_id = $1 AND key = ANY($2::uuid[]) RETURNING key::text",
                [subscriptionId, Self.textArray(canonical)])
            try Self.checkAllFound(canonical, found: rows, subscriptionId: subscriptionId)
        }
    }

    private static func checkAllFound(_ keys: [String], found: PostgresRows, subscriptionId: String) throws {
        let foundKeys = Set(found.rows.compactMap { $0[0] })
        let missing = keys.filter { !foundKeys.contains($0) }
        if !missing.isEmpty {
            throw StoreError(.keyFilterNotFound, "subscription \(subscriptionId) has no key filter \(missing.joined(separator: ", ")) (nothing was changed)")
        }
    }

    // MARK: Claims

    /// Atomically takes one claimable filter of an active subscription: a `new` one whose backoff has ended, or a
    /// `pending` one whose lease expired (its worker died). `FOR UPDATE SKIP LOCKED` keeps workers from
    /// colliding; the short transaction is the statement itself.
    public func claim(initializer: String, leaseSeconds: Double) async throws(PostgresError) -> Claim? {
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
            SET status = 'pending', initializer = $1, attempt = f.attempt + 1, claim_id = gen_random_uuid(),
                lease_expires_at = now() + make_interval(secs => $2::double precision),
                message = NULL, report = json_build_object('locked', true, 'attempt', f.attempt + 1), updated_at = now()
            FROM candidate c, cae_subscription s
            WHERE f.subscription_id = c.subscription_id AND f.key = c.key AND s.id = c.subscription_id
            RETURNING f.subscription_id, f.key::text, f.claim_id::text, f.attempt, s.sink::text, s.filters::text, s.init_with_history
            """, [initializer, String(leaseSeconds)])
        guard let row = rows.first else { return nil }
        let sink = (try? JSONValue.parse(row[4] ?? "null")) ?? .null
        let filters = row[5].flatMap { try? JSONValue.parse($0) }?.objectValue
        return Claim(
            subscriptionId: row[0]!, key: row[1]!, claimId: row[2]!, attempt: Int(row[3]!) ?? 1,
            initializer: initializer, sink: sink, filters: filters, initWithHistory: row[6] == "t"
        )
    }

    /// Renews the lease; false when the claim is no longer held (reset, removed, or taken after expiry).
    public func heartbeat(_ claim: Claim, leaseSeconds: Double) async throws(PostgresError) -> Bool {
        let rows = try await connection.query("""
            UPDATE cae_key_filter SET lease_expires_at = now() + make_interval(secs => $4::double precision)
            WHERE subscription_id = $1 AND key = $2::uuid AND claim_id = $3::uuid AND status = 'pending'
            """, [claim.subscriptionId, claim.key, claim.claimId, String(leaseSeconds)])
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
            UPDATE cae_key_filter SET status = $4, message = $5, report = $6::json, last_error = $7,
                claim_id = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE subscription_id = $1 AND key = $2::uuid AND claim_id = $3::uuid AND status = 'pending'
            """, [claim.subscriptionId, claim.key, claim.claimId, status.rawValue, message, report.serialized(), lastError])
        return rows.affectedRows == 1
    }

    /// Back to `new`, claimable again after `delay`: a transient failure to retry later. The attempt stays counted.
    public func scheduleRetry(_ claim: Claim, after delay: Duration, message: String) async throws(PostgresError) -> Bool {
        let rows = try await connection.query("""
            UPDATE cae_key_filter SET status = 'new', run_after = now() + make_interval(secs => $4::double precision),
                message = $5, last_error = $5, report = json_build_object('locked', false, 'attempt', attempt),
                claim_id = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE subscription_id = $1 AND key = $2::uuid AND claim_id = $3::uuid AND status = 'pending'
            """, [claim.subscriptionId, claim.key, claim.claimId, String(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18), message])
        return rows.affectedRows == 1
    }

    /// Back to `new` untouched, immediately claimable, the attempt not counted: a run given up at shutdown.
    public func release(_ claim: Claim) async throws(PostgresError) -> Bool {
        let rows = try await connection.query("""
            UPDATE cae_key_filter SET status = 'new', run_after = now(), attempt = greatest(attempt - 1, 0),
                initializer = NULL, report = NULL, message = NULL, claim_id = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE subscription_id = $1 AND key = $2::uuid AND claim_id = $3::uuid AND status = 'pending'
            """, [claim.subscriptionId, claim.key, claim.claimId])
        return rows.affectedRows == 1
    }

    /// Seconds until the next `new` filter of an active subscription becomes claimable (0 if one is claimable
    /// now), or nil when none is left.
    public func secondsUntilNextClaimable() async throws(PostgresError) -> Double? {
        let rows = try await connection.query("""
            SELECT extract(epoch FROM min(f.run_after) - now())::double precision
            FROM cae_key_filter f JOIN cae_subscription s ON s.id = f.subscription_id
            WHERE f.status = 'new' AND NOT s.suspended
            """)
        // min() of no rows is NULL: nothing left. (greatest() would turn it into 0.)
        return rows.scalar().flatMap(Double.init).map { max(0, $0) }
    }

    public func statusReport() async throws(PostgresError) -> KeyFilterStatusReport {
        let counts = try await connection.query("SELECT status, count(*) FROM cae_key_filter GROUP BY status")
        var byStatus: [KeyFilterStatus: Int] = [:]
        for row in counts.rows {
            if let status = row[0].flatMap(KeyFilterStatus.init(rawValue:)) { byStatus[status] = Int(row[1] ?? "0") ?? 0 }
        }
        let pending = try await connection.query("""
            SELECT subscription_id, key::text, initializer, attempt,
                   to_char(lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), lease_expires_at < now()
            FROM cae_key_filter WHERE status = 'pending' ORDER BY lease_expires_at
            """)
        let failed = try await connection.query("SELECT subscription_id, key::text, message FROM cae_key_filter WHERE status = 'failed' ORDER BY updated_at")
        let waiting = try await connection.query("""
            SELECT count(*) FROM cae_key_filter f JOIN cae_subscription s ON s.id = f.subscription_id
            WHERE f.status = 'new' AND (s.suspended OR f.run_after > now())
            """)
        return KeyFilterStatusReport(
            counts: byStatus,
            pending: pending.rows.map {
                .init(subscriptionId: $0[0]!, key: $0[1]!, initializer: $0[2], attempt: Int($0[3] ?? "0") ?? 0, leaseExpiresAt: $0[4], leaseExpired: $0[5] == "t")
            },
            failed: failed.rows.map { .init(subscriptionId: $0[0]!, key: $0[1]!, message: $0[2]) },
            waiting: Int(waiting.scalar() ?? "0") ?? 0
        )
    }

    // MARK: Helpers

    func transaction(_ body: () async throws -> Void) async throws {
        try await connection.execute("BEGIN")
        do {
            try await body()
            try await connection.execute("COMMIT")
        } catch {
            try? await connection.execute("ROLLBACK")
            throw error
        }
    }

    static func canonicalKeys(_ keys: [String]) throws -> [String] {
        guard !keys.isEmpty else { throw StoreError(.invalidInput, "no key given") }
        return try keys.map { key in
            guard let uuid = UUIDText.canonical(key) else { throw StoreError(.invalidInput, "\"\(key.prefix(60))\" is not a UUID") }
            return uuid
        }
    }

    /// A PostgreSQL array literal of UUID-like strings (no quoting needed: callers pass canonical UUIDs).
    static func textArray(_ values: [String]) -> String {
        "{" + values.joined(separator: ",") + "}"
    }

    static func newSubscriptionId() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<24).map { _ in digits[Int(generator.next() % 16)] })
    }
}
