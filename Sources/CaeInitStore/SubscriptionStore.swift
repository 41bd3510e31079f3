import CaeInitCore
import CaeInitPostgres

/// The subscription store: every statement about subscriptions and key filters, for the CLI, the worker and the
/// REST API alike. One store uses one connection, one task at a time.
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
        let sink = try sealer.seal(draft.sink)
        // Read before COMMIT: a worker may claim a filter the moment it is committed, and the answer is the
        // subscription as created (its filters `new`).
        let created = try await connection.withTransaction { () async throws -> Subscription? in
            try await connection.query("""
                INSERT INTO cae_subscription (id, domain, key, application_id, suspended, sink, topics, filters, init_with_history)
                VALUES (\(id), \(draft.domain), \(id), \(draft.applicationId), \(draft.suspended), \(JSONValue.object(sink).serialized())::jsonb,
                        \(JSONValue.array(draft.topics.map(JSONValue.string)).serialized())::jsonb,
                        \(draft.filters.map { JSONValue.object($0).serialized() })::jsonb, \(draft.initWithHistory))
                """)
            if !draft.keyFilters.isEmpty {
                _ = try await insertKeyFilters(subscriptionId: id, keys: draft.keyFilters.map(\.key))
            }
            return try await subscription(id: id)
        }
        guard let created else {
            throw StoreError(.subscriptionNotFound, "subscription \(id) vanished right after creation")
        }
        return created
    }

    public func subscription(id: String) async throws -> Subscription? {
        try await subscriptions(id: id, domain: nil).first
    }

    public func subscriptions(domain: String? = nil) async throws -> [Subscription] {
        try await subscriptions(id: nil, domain: domain)
    }

    private func subscriptions(id: String?, domain: String?) async throws -> [Subscription] {
        let rows = try await connection.query("""
            SELECT s.id, s.domain, s.key, s.application_id, s.suspended, s.sink::text, s.topics::text, s.filters::text, s.init_with_history,
                   coalesce((SELECT json_agg(json_build_object('key', f.key, 'status', f.status, 'initializer', f.initializer,
                                                               'message', f.message, 'report', f.report) ORDER BY f.position)
                             FROM cae_key_filter f WHERE f.subscription_id = s.id), '[]')::text
            FROM cae_subscription s
            WHERE (\(id)::text IS NULL OR s.id = \(id)) AND (\(domain)::text IS NULL OR s.domain = \(domain))
            ORDER BY s.created_at, s.id
            """)
        return try rows.typed.map(decodeSubscription)
    }

    /// A subscription row as stored; a stored value that does not fit is an error naming the column.
    func decodeSubscription(_ row: PostgresRow) throws -> Subscription {
        let (id, domain, key, applicationId, suspended, sinkText, topicsText, filtersText, initWithHistory, filtersJSON) = try row.decode(
            String.self, String.self, String?.self, String?.self, Bool.self, String.self, String.self, String?.self, Bool.self, String.self)
        let keyFilters = try StoredJSON.array(filtersJSON, column: "key filters").map { value in
            let object = try StoredJSON.object(value, column: "key filter")
            guard let key = object["key"]?.stringValue, let status = object["status"]?.stringValue.flatMap(KeyFilterStatus.init(rawValue:)) else {
                throw StoreError(.invalidInput, "subscription \(id): a stored key filter has no key or no known status")
            }
            let report = object["report"].flatMap { $0.isNull ? nil : $0 }
            return KeyFilter(key: key, status: status, initializer: object["initializer"]?.stringValue, message: object["message"]?.stringValue, report: report)
        }
        let topics = try StoredJSON.array(topicsText, column: "topics").map { value in
            guard let topic = value.stringValue else { throw StoreError(.invalidInput, "subscription \(id): a stored topic is \(value.typeName), not a string") }
            return topic
        }
        return Subscription(
            id: id, domain: domain, key: key, keyFilters: keyFilters, applicationId: applicationId, suspended: suspended,
            sink: try sealer.open(try StoredJSON.object(sinkText, column: "sink")),
            topics: topics,
            filters: try filtersText.map { try StoredJSON.object($0, column: "filters") },
            initWithHistory: initWithHistory
        )
    }

    public func setSuspended(subscriptionId: String, _ suspended: Bool) async throws {
        let result = try await connection.query("UPDATE cae_subscription SET suspended = \(suspended), updated_at = now() WHERE id = \(subscriptionId)")
        if result.affectedRows == 0 { throw StoreError(.subscriptionNotFound, "no subscription \(subscriptionId)") }
    }

    public func deleteSubscription(id: String) async throws {
        let result = try await connection.query("DELETE FROM cae_subscription WHERE id = \(id)")
        if result.affectedRows == 0 { throw StoreError(.subscriptionNotFound, "no subscription \(id)") }
    }

    // MARK: Key filters

    /// Adds dossiers as `new` filters; keys already listed are left as they are. Returns the keys added.
    public func addKeyFilters(subscriptionId: String, keys: [String]) async throws -> [String] {
        let canonical = try Self.canonicalKeys(keys)
        return try await connection.withTransaction {
            let exists = try await connection.query("SELECT 1 FROM cae_subscription WHERE id = \(subscriptionId) FOR UPDATE")
            if exists.isEmpty { throw StoreError(.subscriptionNotFound, "no subscription \(subscriptionId)") }
            return try await insertKeyFilters(subscriptionId: subscriptionId, keys: canonical)
        }
    }

    func insertKeyFilters(subscriptionId: String, keys: [String]) async throws(PostgresError) -> [String] {
        let rows = try await connection.query("""
            INSERT INTO cae_key_filter (subscription_id, key, position)
            SELECT \(subscriptionId), k.key::uuid, coalesce((SELECT max(position) FROM cae_key_filter WHERE subscription_id = \(subscriptionId)), 0) + k.n
            FROM unnest(\(keys)::text[]) WITH ORDINALITY AS k(key, n)
            ON CONFLICT (subscription_id, key) DO NOTHING
            RETURNING key::text
            """)
        return try rows.decode(String.self)
    }

    /// Puts filters back to `new` for a re-initialisation. A run still going on one of them loses its claim: its
    /// outcome is discarded and a new run follows once that run's lease has run out.
    public func resetKeyFilters(subscriptionId: String, keys: [String]) async throws {
        let canonical = try Self.canonicalKeys(keys)
        try await connection.withTransaction {
            let reset = try await resetKeyFilterRows(subscriptionId: subscriptionId, canonicalKeys: canonical)
            try Self.checkAllFound(canonical, found: reset, subscriptionId: subscriptionId)
        }
    }

    /// The reset statement of `resetKeyFilters`, for callers that hold a transaction; returns the keys reset.
    func resetKeyFilterRows(subscriptionId: String, canonicalKeys canonical: [String]) async throws -> [String] {
        let rows = try await connection.query("""
                UPDATE cae_key_filter SET status = 'new', attempt = 0, claim_id = NULL, lease_expires_at = NULL,
                    -- A run still going learns at its next heartbeat that it lost the claim, and stops before its lease
                    -- ends: the new run waits for that, so an older snapshot never overwrites the newer run's files.
                    run_after = CASE WHEN status = 'pending' THEN greatest(now(), lease_expires_at) ELSE now() END,
                    initializer = NULL, message = NULL, report = NULL, last_error = NULL, updated_at = now()
                WHERE subscription_id = \(subscriptionId) AND key = ANY(\(canonical)::uuid[])
                RETURNING key::text
                """)
        return try rows.decode(String.self)
    }

    /// Removes filters; a run going on one of them stops and writes no status.
    public func removeKeyFilters(subscriptionId: String, keys: [String]) async throws {
        let canonical = try Self.canonicalKeys(keys)
        try await connection.withTransaction {
            let rows = try await connection.query(
                "DELETE FROM cae_key_filter WHERE subscription_id = \(subscriptionId) AND key = ANY(\(canonical)::uuid[]) RETURNING key::text")
            try Self.checkAllFound(canonical, found: try rows.decode(String.self), subscriptionId: subscriptionId)
        }
    }

    private static func checkAllFound(_ keys: [String], found: [String], subscriptionId: String) throws {
        let foundKeys = Set(found)
        let missing = keys.filter { !foundKeys.contains($0) }
        if !missing.isEmpty {
            throw StoreError(.keyFilterNotFound, "subscription \(subscriptionId) has no key filter \(missing.joined(separator: ", ")) (nothing was changed)")
        }
    }

    // MARK: Helpers

    static func canonicalKeys(_ keys: [String]) throws -> [String] {
        guard !keys.isEmpty else { throw StoreError(.invalidInput, "no key given") }
        return try keys.map { key in
            guard let uuid = UUIDText.canonical(key) else { throw StoreError(.invalidInput, "\"\(key.prefix(60))\" is not a UUID") }
            return uuid
        }
    }

    static func newSubscriptionId() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<24).map { _ in digits[Int(generator.next() % 16)] })
    }
}
