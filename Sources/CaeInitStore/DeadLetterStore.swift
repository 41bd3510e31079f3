import CaeInitCore
import CaeInitPostgres

/// The dead-letter table (`cae_dead_letter`): recorded by the Sink Service, listed, retried and discarded by
/// `cae-init dead-letters`. One store uses one connection, one task at a time.
public struct DeadLetterStore: Sendable {
    public let connection: PostgresConnection

    public init(connection: PostgresConnection) { self.connection = connection }

    /// Records that `subscriptionId` could not take `event`. The same message failing again (a redelivery, a
    /// retry) updates its row: one more attempt, the latest reason. Nothing is recorded when the key filter is gone
    /// (removed meanwhile: what concerned it is discarded).
    /// - Parameter reason: already scrubbed of the sink's secrets.
    public func record(_ event: LiveEvent, subscriptionId: String, reason: String) async throws(PostgresError) {
        try await connection.query("""
            INSERT INTO cae_dead_letter (subscription_id, key, topic, kafka_partition, kafka_offset, kind, value, reason)
            SELECT f.subscription_id, f.key, \(event.topic), \(event.partition), \(event.offset), \(event.kindHeader),
                   \(event.value.map(ByteaText.encode))::bytea, \(reason)
            FROM cae_key_filter f WHERE f.subscription_id = \(subscriptionId) AND f.key = \(event.key)::uuid
            ON CONFLICT (subscription_id, topic, kafka_partition, kafka_offset)
            DO UPDATE SET attempts = cae_dead_letter.attempts + 1, reason = EXCLUDED.reason, last_failure_at = now()
            """)
    }

    /// The dead letters, optionally of one subscription or one id, in (subscription, topic, partition, offset)
    /// order: the order a retry delivers them in.
    public func list(subscriptionId: String? = nil, id: Int64? = nil) async throws(PostgresError) -> [DeadLetter] {
        let rows = try await connection.query("""
            SELECT id, subscription_id, key::text, topic, kafka_partition, kafka_offset, kind, encode(value, 'hex'), reason, attempts,
                   to_char(first_failure_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                   to_char(last_failure_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
            FROM cae_dead_letter
            WHERE (\(subscriptionId)::text IS NULL OR subscription_id = \(subscriptionId)) AND (\(id)::bigint IS NULL OR id = \(id))
            ORDER BY subscription_id, topic, kafka_partition, kafka_offset
            """).decode(Int64.self, String.self, String.self, String.self, Int.self, Int64.self, String?.self, String?.self, String.self, Int.self, String.self, String.self)
        return rows.map { row in
            let (id, subscriptionId, key, topic, partition, offset, kind, hex, reason, attempts, first, last) = row
            let event = LiveEvent(topic: topic, partition: Int32(partition), offset: offset, key: key, kindHeader: kind, value: hex.map(ByteaText.decodeHex))
            return DeadLetter(id: id, subscriptionId: subscriptionId, event: event, reason: reason, attempts: attempts, firstFailureAt: first, lastFailureAt: last)
        }
    }

    /// Deletes one dead letter (delivered, or discarded); false when there is no such id.
    @discardableResult
    public func delete(id: Int64) async throws(PostgresError) -> Bool {
        try await connection.query("DELETE FROM cae_dead_letter WHERE id = \(id)").affectedRows > 0
    }

    /// Deletes the dead letters of a subscription, or all; returns how many.
    public func deleteAll(subscriptionId: String?) async throws(PostgresError) -> Int {
        try await connection.query(
            "DELETE FROM cae_dead_letter WHERE \(subscriptionId)::text IS NULL OR subscription_id = \(subscriptionId)"
        ).affectedRows
    }
}
