import CaeInitCore
import CaeInitPostgres

extension SubscriptionStore {
    /// Re-seals every stored sink whose secrets are in clear or under another key than the sealer's first, in one
    /// transaction (rows locked as they are read): either every subscription is under the new key, or none changed.
    /// Returns how many subscriptions were re-sealed.
    public func resealAllSinks() async throws -> Int {
        try await connection.withTransaction {
            let rows = try await connection.query("SELECT id, sink::text FROM cae_subscription ORDER BY id FOR UPDATE").decode(String.self, String.self)
            var count = 0
            for (id, text) in rows {
                let stored = try StoredJSON.object(text, column: "sink of subscription \(id)")
                guard sealer.needsResealing(stored) else { continue }
                let sealed = try sealer.seal(try sealer.open(stored))
                try await connection.query("UPDATE cae_subscription SET sink = \(JSONValue.object(sealed).serialized())::jsonb, updated_at = now() WHERE id = \(id)")
                count += 1
            }
            return count
        }
    }
}
