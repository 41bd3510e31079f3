import CaeInitCore
import CaeInitPostgres

/// The Sink Service's statements on the subscription store: the routes of a message, the events kept for the
/// hand-off and their replay. Dead letters are in `DeadLetterStore`, the stale-event check against the dossier
/// tables in `LiveEventStore+VersionCheck.swift`. One store uses one connection, one task at a time.
public struct LiveEventStore: Sendable {
    public let connection: PostgresConnection
    /// Sinks are read through `sealer.open`, as the worker reads them.
    public let sealer: SinkSealer

    public init(connection: PostgresConnection, sealer: SinkSealer = .plaintext) {
        self.connection = connection
        self.sealer = sealer
    }

    /// The topics of the active (not suspended) subscriptions.
    public func activeTopics() async throws(PostgresError) -> Set<String> {
        Set(try await connection.query("""
            SELECT DISTINCT t.topic FROM cae_subscription s, jsonb_array_elements_text(s.topics) AS t(topic)
            WHERE NOT s.suspended AND jsonb_typeof(s.topics) = 'array'
            """).decode(String.self))
    }

    /// Every subscription a message of `topic` and `key` may concern, in one query: active, listing the topic,
    /// with the key among its filters (whatever their status: `LiveEventRouting` decides).
    public func routes(topic: String, key: String) async throws(PostgresError) -> [Route] {
        let rows = try await connection.query("""
            SELECT s.id, f.key::text, s.suspended, s.topics::text, s.sink::text, s.filters::text, f.status, \(unescaped: Self.hasKeptColumn)
            FROM cae_key_filter f JOIN cae_subscription s ON s.id = f.subscription_id
            WHERE f.key = \(key)::uuid AND NOT s.suspended AND jsonb_typeof(s.topics) = 'array' AND s.topics ? \(topic)
            ORDER BY s.id
            """)
        return try rows.typed.map(decodeRoute)
    }

    /// One subscription's route for `key` whatever its topics (the replay of kept events); nil when the key is no
    /// longer among its filters.
    public func route(subscriptionId: String, key: String) async throws(PostgresError) -> Route? {
        let rows = try await connection.query("""
            SELECT s.id, f.key::text, s.suspended, s.topics::text, s.sink::text, s.filters::text, f.status, \(unescaped: Self.hasKeptColumn)
            FROM cae_key_filter f JOIN cae_subscription s ON s.id = f.subscription_id
            WHERE f.subscription_id = \(subscriptionId) AND f.key = \(key)::uuid
            """)
        return try rows.typed.map(decodeRoute).first
    }

    /// Whether anything is kept for the route's key, read in the same snapshot as its status: when that status is
    /// `ready`, everything ever kept was committed before it (a keep holds the filter row `FOR SHARE`), so `false`
    /// means there is nothing to replay and a live event skips the drain's transaction.
    static let hasKeptColumn = "EXISTS (SELECT 1 FROM cae_live_event_kept k WHERE k.subscription_id = f.subscription_id AND k.key = f.key)"

    // MARK: Hand-off

    /// Keeps `event` for the subscription while the key's filter is `new` or `pending`, holding the filter row
    /// (`FOR SHARE`) so that it cannot become `ready` in between: once it is, everything kept is visible to the drain.
    /// A redelivered event is kept once. Returns the filter's status as read under the lock (nil: no such filter);
    /// when it is not `new` or `pending` nothing was kept and the caller routes the event again.
    public func keep(_ event: LiveEvent, subscriptionId: String) async throws -> KeyFilterStatus? {
        try await connection.withTransaction {
            let status = try await lockedStatus(subscriptionId: subscriptionId, key: event.key, mode: "FOR SHARE")
            guard status == .new || status == .pending else { return status }
            try await connection.query("""
                INSERT INTO cae_live_event_kept (subscription_id, key, topic, kafka_partition, kafka_offset, kind, value)
                VALUES (\(subscriptionId), \(event.key)::uuid, \(event.topic), \(event.partition), \(event.offset), \(event.kindHeader),
                        \(event.value.map(ByteaText.encode))::bytea)
                ON CONFLICT (subscription_id, topic, kafka_partition, kafka_offset) DO NOTHING
                """)
            return status
        }
    }

    /// Replays what was kept for a key that is `ready`, in offset order (per topic and partition), in batches: each
    /// batch in one transaction holding the filter row (`FOR NO KEY UPDATE`: it cannot be reset meanwhile, and two
    /// drains of the key, from two Sink Service instances or the drainer and a live event, run one after the other;
    /// the next one reads the kept rows once the previous batch is committed, so it never skips ahead of rows still
    /// being replayed) and the kept rows (`FOR UPDATE`). `handle` writes or
    /// dead-letters each event, through this store's connection when it records anything (same transaction); each
    /// handled event is then deleted. If `handle` throws, the batch is rolled back and kept for the next drain.
    /// - Returns: the number of events replayed.
    @discardableResult
    public func drainKept(subscriptionId: String, key: String, batchSize: Int = 100, _ handle: (LiveEvent) async throws -> Void) async throws -> Int {
        var total = 0
        while true {
            let count = try await connection.withTransaction { () async throws -> Int in
                guard try await lockedStatus(subscriptionId: subscriptionId, key: key, mode: "FOR NO KEY UPDATE") == .ready else { return 0 }
                let rows = try await connection.query("""
                    SELECT topic, kafka_partition, kafka_offset, kind, encode(value, 'hex')
                    FROM cae_live_event_kept WHERE subscription_id = \(subscriptionId) AND key = \(key)::uuid
                    ORDER BY topic, kafka_partition, kafka_offset LIMIT \(batchSize) FOR UPDATE
                    """).decode(String.self, Int.self, Int64.self, String?.self, String?.self)
                for (topic, partition, offset, kind, hex) in rows {
                    let event = LiveEvent(topic: topic, partition: Int32(partition), offset: offset, key: key, kindHeader: kind, value: hex.map(ByteaText.decodeHex))
                    try await handle(event)
                    try await connection.query("""
                        DELETE FROM cae_live_event_kept
                        WHERE subscription_id = \(subscriptionId) AND topic = \(topic) AND kafka_partition = \(partition) AND kafka_offset = \(offset)
                        """)
                }
                return rows.count
            }
            total += count
            if count < batchSize { return total }
        }
    }

    /// The (subscription, key) pairs with kept events whose filter is `ready` and subscription active: what a
    /// drain sweep replays (after a missed notification, a restart, a subscription leaving suspension).
    public func readyKeysWithKeptEvents() async throws(PostgresError) -> [(subscriptionId: String, key: String)] {
        try await connection.query("""
            SELECT DISTINCT k.subscription_id, k.key::text
            FROM cae_live_event_kept k
            JOIN cae_key_filter f ON f.subscription_id = k.subscription_id AND f.key = k.key
            JOIN cae_subscription s ON s.id = k.subscription_id
            WHERE f.status = 'ready' AND NOT s.suspended
            ORDER BY 1, 2
            """).decode(String.self, String.self).map { (subscriptionId: $0.0, key: $0.1) }
    }

    /// How many events are kept for a key (tests, status).
    public func keptCount(subscriptionId: String, key: String) async throws(PostgresError) -> Int {
        try await connection.query(
            "SELECT count(*) FROM cae_live_event_kept WHERE subscription_id = \(subscriptionId) AND key = \(key)::uuid"
        ).decode(Int.self).first ?? 0
    }

    /// The filter's status, its row locked in `mode` until the transaction ends; nil when there is no such filter.
    private func lockedStatus(subscriptionId: String, key: String, mode: StaticString) async throws -> KeyFilterStatus? {
        let status = try await connection.query(
            "SELECT status FROM cae_key_filter WHERE subscription_id = \(subscriptionId) AND key = \(key)::uuid \(unescaped: "\(mode)")"
        ).decode(String.self).first
        guard let status else { return nil }
        guard let known = KeyFilterStatus(rawValue: status) else {
            throw StoreError(.invalidInput, "key filter \(subscriptionId)/\(key) has an unknown status")
        }
        return known
    }
}

/// `bytea` values as text parameters and results (hex format), so values pass through byte for byte.
enum ByteaText {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = Array("\\x".utf8)
        text.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Bytes of `encode(value, 'hex')`.
    static func decodeHex(_ text: String) -> [UInt8] {
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return c &- UInt8(ascii: "A") &+ 10
            }
        }
        let utf8 = Array(text.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index + 1 < utf8.count {
            bytes.append(nibble(utf8[index]) << 4 | nibble(utf8[index + 1]))
            index += 2
        }
        return bytes
    }
}
