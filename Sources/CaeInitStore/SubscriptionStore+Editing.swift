import CaeInitCore
import CaeInitPostgres

/// What `GET /subscriptions` asks for: every parameter optional, all combined; `scope` limits the answer to an
/// API key's domains.
public struct SubscriptionQuery: Sendable, Equatable {
    public var id: String?
    public var domain: String?
    public var topic: String?
    public var scope: ApiKeyScope

    public init(id: String? = nil, domain: String? = nil, topic: String? = nil, scope: ApiKeyScope = .allDomains) {
        self.id = id
        self.domain = domain
        self.topic = topic
        self.scope = scope
    }
}

/// The REST API's edits: each one reads the subscription under a row lock, checks it is within the key's
/// domains (outside them it does not exist: `subscriptionNotFound`), applies a validated change and writes it
/// in the same transaction, so two concurrent edits never lose one another.
extension SubscriptionStore {
    public func subscriptions(matching query: SubscriptionQuery) async throws -> [Subscription] {
        let rows = try await connection.query("""
            SELECT s.id, s.domain, s.key, s.application_id, s.suspended, s.sink::text, s.topics::text, s.filters::text, s.init_with_history,
                   coalesce((SELECT json_agg(json_build_object('key', f.key, 'status', f.status, 'initializer', f.initializer,
                                                               'message', f.message, 'report', f.report) ORDER BY f.position)
                             FROM cae_key_filter f WHERE f.subscription_id = s.id), '[]')::text
            FROM cae_subscription s
            WHERE (\(query.id)::text IS NULL OR s.id = \(query.id)) AND (\(query.domain)::text IS NULL OR s.domain = \(query.domain))
              AND (\(query.topic)::text IS NULL OR s.topics ? \(query.topic)) AND (\(query.scope.domainsJSON)::jsonb IS NULL OR \(query.scope.domainsJSON)::jsonb ? s.domain)
            ORDER BY s.created_at, s.id
            """)
        return try rows.typed.map(decodeSubscription)
    }

    /// The subscription when it exists within `scope`.
    public func subscription(id: String, scope: ApiKeyScope) async throws -> Subscription? {
        try await subscriptions(matching: SubscriptionQuery(id: id, scope: scope)).first
    }

    /// Applies `edit` (a pure, validated change such as `Subscription.replacingTopics`) and stores the subscription's
    /// own fields: `suspended`, `sink`, `topics`, `filters`. Key filters are not touched here.
    public func update(id: String, scope: ApiKeyScope, _ edit: @Sendable (Subscription) throws -> Subscription) async throws -> Subscription {
        let updated = try await connection.withTransaction { () async throws -> Subscription? in
            let current = try await lockedSubscription(id: id, scope: scope)
            let edited = try edit(current)
            let sink = JSONValue.object(try sealer.seal(edited.sink)).serialized()
            let topics = JSONValue.array(edited.topics.map(JSONValue.string)).serialized()
            let filters = edited.filters.map { JSONValue.object($0).serialized() }
            try await connection.query("""
                UPDATE cae_subscription SET suspended = \(edited.suspended), sink = \(sink)::jsonb, topics = \(topics)::jsonb,
                    filters = \(filters)::jsonb, updated_at = now()
                WHERE id = \(id)
                """)
            return try await subscription(id: id)
        }
        guard let updated else { throw StoreError(.subscriptionNotFound, "no subscription \(id)") }
        return updated
    }

    /// `POST /key-filters` (`resetRequested: false`) and `PUT /key-filters` (`true`): keys not listed yet are added
    /// as `new`; with `resetRequested`, listed keys sent with status `new` are put back to `new` (re-initialised, a
    /// run going on is discarded). Other listed keys are left as they are.
    public func editKeyFilters(id: String, scope: ApiKeyScope, _ edits: [KeyFilterEdit], resetRequested: Bool) async throws -> Subscription {
        let updated = try await connection.withTransaction { () async throws -> Subscription? in
            let current = try await lockedSubscription(id: id, scope: scope)
            let listed = Set(current.keyFilters.map(\.key))
            let added = edits.map(\.key).filter { !listed.contains($0) }
            if !added.isEmpty { _ = try await insertKeyFilters(subscriptionId: id, keys: added) }
            if resetRequested {
                let reset = edits.filter { listed.contains($0.key) && $0.status == .new }.map(\.key)
                if !reset.isEmpty { _ = try await resetKeyFilterRows(subscriptionId: id, canonicalKeys: reset) }
            }
            if !added.isEmpty || resetRequested {
                try await connection.query("UPDATE cae_subscription SET updated_at = now() WHERE id = \(id)")
            }
            return try await subscription(id: id)
        }
        guard let updated else { throw StoreError(.subscriptionNotFound, "no subscription \(id)") }
        return updated
    }

    /// `DELETE /key-filters`: removes the listed keys (a run going on stops and writes no status); keys not
    /// listed are ignored, so that a retried request succeeds.
    public func removeKeyFilters(id: String, scope: ApiKeyScope, keys: [String]) async throws -> Subscription {
        let updated = try await connection.withTransaction { () async throws -> Subscription? in
            _ = try await lockedSubscription(id: id, scope: scope)
            try await connection.query("DELETE FROM cae_key_filter WHERE subscription_id = \(id) AND key = ANY(\(keys)::uuid[])")
            try await connection.query("UPDATE cae_subscription SET updated_at = now() WHERE id = \(id)")
            return try await subscription(id: id)
        }
        guard let updated else { throw StoreError(.subscriptionNotFound, "no subscription \(id)") }
        return updated
    }

    /// Deletes the subscription and its filters (runs going on stop and write no status); returns what was deleted.
    public func deleteSubscription(id: String, scope: ApiKeyScope) async throws -> Subscription {
        try await connection.withTransaction { () async throws -> Subscription in
            let deleted = try await lockedSubscription(id: id, scope: scope)
            try await connection.query("DELETE FROM cae_subscription WHERE id = \(id)")
            return deleted
        }
    }

    /// Reads the subscription with its row locked until the transaction ends.
    private func lockedSubscription(id: String, scope: ApiKeyScope) async throws -> Subscription {
        let locked = try await connection.query("""
            SELECT 1 FROM cae_subscription s WHERE s.id = \(id) AND (\(scope.domainsJSON)::jsonb IS NULL OR \(scope.domainsJSON)::jsonb ? s.domain) FOR UPDATE
            """)
        guard !locked.isEmpty, let subscription = try await subscription(id: id) else {
            throw StoreError(.subscriptionNotFound, "no subscription \(id)")
        }
        return subscription
    }
}
