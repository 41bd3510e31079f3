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
    public func subscriptions(matching query: SubscriptionQuery) async throws(PostgresError) -> [Subscription] {
        try await subscriptions(where: """
            ($1::text IS NULL OR s.id = $1) AND ($2::text IS NULL OR s.domain = $2) AND ($3::text IS NULL OR s.topics ? $3)
            AND ($4::jsonb IS NULL OR $4::jsonb ? s.domain)
            """, [query.id, query.domain, query.topic, query.scope.domainsJSON])
    }

    /// The subscription when it exists within `scope`.
    public func subscription(id: String, scope: ApiKeyScope) async throws(PostgresError) -> Subscription? {
        try await subscriptions(matching: SubscriptionQuery(id: id, scope: scope)).first
    }

    /// Applies `edit` (a pure, validated change such as `Subscription.replacingTopics`) and stores the subscription's
    /// own fields: `suspended`, `sink`, `topics`, `filters`. Key filters are not touched here.
    public func update(id: String, scope: ApiKeyScope, _ edit: @Sendable (Subscription) throws -> Subscription) async throws -> Subscription {
        var updated: Subscription?
        try await transaction { () async throws in
            let current = try await lockedSubscription(id: id, scope: scope)
            let edited = try edit(current)
            try await connection.query("""
                UPDATE cae_subscription SET suspended = $2, sink = $3::jsonb, topics = $4::jsonb, filters = $5::jsonb, updated_at = now()
                WHERE id = $1
                """, [
                    id, edited.suspended ? "true" : "false",
                    JSONValue.object(try sealer.seal(edited.sink)).serialized(),
                    JSONValue.array(edited.topics.map(JSONValue.string)).serialized(),
                    edited.filters.map { JSONValue.object($0).serialized() },
                ])
            updated = try await subscriptions(where: "s.id = $1", [id]).first
        }
        guard let updated else { throw StoreError(.subscriptionNotFound, "no subscription \(id)") }
        return updated
    }

    /// `POST /key-filters` (`resetRequested: false`) and `PUT /key-filters` (`true`): keys not listed yet are added
    /// as `new`; with `resetRequested`, listed keys sent with status `new` are put back to `new` (re-initialised, a
    /// run going on is discarded). Other listed keys are left as they are.
    public func editKeyFilters(id: String, scope: ApiKeyScope, _ edits: [KeyFilterEdit], resetRequested: Bool) async throws -> Subscription {
        var updated: Subscription?
        try await transaction { () async throws in
            let current = try await lockedSubscription(id: id, scope: scope)
            let listed = Set(current.keyFilters.map(\.key))
            let added = edits.map(\.key).filter { !listed.contains($0) }
            if !added.isEmpty { _ = try await insertKeyFilters(subscriptionId: id, keys: added) }
            if resetRequested {
                let reset = edits.filter { listed.contains($0.key) && $0.status == .new }.map(\.key)
                if !reset.isEmpty { _ = try await resetKeyFilterRows(subscriptionId: id, canonicalKeys: reset) }
            }
            if !added.isEmpty || resetRequested {
                try await connection.query("UPDATE cae_subscription SET updated_at = now() WHERE id = $1", [id])
            }
            updated = try await subscriptions(where: "s.id = $1", [id]).first
        }
        guard let updated else { throw StoreError(.subscriptionNotFound, "no subscription \(id)") }
        return updated
    }

    /// `DELETE /key-filters`: removes the listed keys (a run going on stops and writes no status); keys not
    /// listed are ignored, so that a retried request succeeds.
    public func removeKeyFilters(id: String, scope: ApiKeyScope, keys: [String]) async throws -> Subscription {
        var updated: Subscription?
        try await transaction { () async throws in
            _ = try await lockedSubscription(id: id, scope: scope)
            try await connection.query(
                "DELETE FROM cae_key_filter WHERE subscription_id = $1 AND key = ANY($2::uuid[])",
                [id, Self.textArray(keys)])
            try await connection.query("UPDATE cae_subscription SET updated_at = now() WHERE id = $1", [id])
            updated = try await subscriptions(where: "s.id = $1", [id]).first
        }
        guard let updated else { throw StoreError(.subscriptionNotFound, "no subscription \(id)") }
        return updated
    }

    /// Deletes the subscription and its filters (runs going on stop and write no status); returns what was deleted.
    public func deleteSubscription(id: String, scope: ApiKeyScope) async throws -> Subscription {
        var deleted: Subscription?
        try await transaction { () async throws in
            deleted = try await lockedSubscription(id: id, scope: scope)
            try await connection.query("DELETE FROM cae_subscription WHERE id = $1", [id])
        }
        guard let deleted else { throw StoreError(.subscriptionNotFound, "no subscription \(id)") }
        return deleted
    }

    /// Reads the subscription with its row locked until the transaction ends.
    private func lockedSubscription(id: String, scope: ApiKeyScope) async throws -> Subscription {
        let locked = try await connection.query("""
            SELECT 1 FROM cae_subscription s WHERE s.id = $1 AND ($2::jsonb IS NULL OR $2::jsonb ? s.domain) FOR UPDATE
            """, [id, scope.domainsJSON])
        guard !locked.isEmpty, let subscription = try await subscriptions(where: "s.id = $1", [id]).first else {
            throw StoreError(.subscriptionNotFound, "no subscription \(id)")
        }
        return subscription
    }
}
