/// How a `KafkaConsumer` joins its group and polls. Each default is documented once, here; the CLI takes its
/// defaults from `KafkaConsumerOptions()`.
public struct KafkaConsumerOptions: Sendable {
    /// Bootstrap brokers, `host:port` each; at least one is required.
    public var brokers: [String]
    /// The consumer group: members share the partitions and its committed offsets; default `cae-sink-service`.
    public var groupID: String
    /// Sent to the brokers to name this client in their logs and quotas; default `cae-init`.
    public var clientID: String
    /// A member that sends no heartbeat for this long is removed from the group; default 30 s.
    public var sessionTimeout: Duration
    /// Longest wait of one `poll()` for a first message; bounds how fast a shutdown is noticed; default 500 ms.
    public var pollTimeout: Duration
    /// Most messages one `poll()` returns; default 500.
    public var maxBatch: Int
    /// Other librdkafka properties (`security.protocol`, `sasl.*`, `topic.metadata.refresh.interval.ms`…); those
    /// this type sets itself are refused.
    public var extra: [String: String]

    public init(
        brokers: [String],
        groupID: String = "cae-sink-service",
        clientID: String = "cae-init",
        sessionTimeout: Duration = .seconds(30),
        pollTimeout: Duration = .milliseconds(500),
        maxBatch: Int = 500,
        extra: [String: String] = [:]
    ) {
        self.brokers = brokers
        self.groupID = groupID
        self.clientID = clientID
        self.sessionTimeout = sessionTimeout
        self.pollTimeout = pollTimeout
        self.maxBatch = maxBatch
        self.extra = extra
    }

    /// librdkafka's own range for `session.timeout.ms`.
    public static let sessionTimeoutRange = Duration.seconds(1)...Duration.seconds(3600)
    public static let pollTimeoutRange = Duration.milliseconds(1)...Duration.seconds(60)
    public static let maxBatchRange = 1...100_000
    /// Properties the consumer's delivery guarantees rest on: set by `KafkaConsumer`, never by `extra`.
    public static let managedProperties: Set<String> = [
        "bootstrap.servers", "metadata.broker.list", "group.id", "client.id", "session.timeout.ms",
        "enable.auto.commit", "enable.auto.offset.store", "auto.offset.reset", "enable.partition.eof",
    ]

    /// Throws a `KafkaError` (`invalidOption`) naming the first option out of its range.
    public func validate() throws(KafkaError) {
        func invalid(_ property: String, _ reason: String) -> KafkaError {
            KafkaError(code: .invalidOption, message: reason, property: property)
        }
        if brokers.isEmpty { throw invalid("brokers", "at least one broker (host:port) is required") }
        for broker in brokers {
            let parts = broker.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 2, !parts.dropLast().joined(separator: ":").isEmpty, let port = Int(parts.last!), (1...65535).contains(port),
                  !broker.contains(where: { $0.isWhitespace || $0 == "," }) else {
                throw invalid("brokers", "each broker must be host:port with a port between 1 and 65535")
            }
        }
        if groupID.isEmpty { throw invalid("groupID", "must not be empty") }
        if clientID.isEmpty { throw invalid("clientID", "must not be empty") }
        for (name, value) in [("groupID", groupID), ("clientID", clientID)] where value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw invalid(name, "must not contain control characters")
        }
        guard Self.sessionTimeoutRange.contains(sessionTimeout) else {
            throw invalid("sessionTimeout", "must be between \(Self.sessionTimeoutRange.lowerBound) and \(Self.sessionTimeoutRange.upperBound)")
        }
        guard Self.pollTimeoutRange.contains(pollTimeout) else {
            throw invalid("pollTimeout", "must be between \(Self.pollTimeoutRange.lowerBound) and \(Self.pollTimeoutRange.upperBound)")
        }
        guard Self.maxBatchRange.contains(maxBatch) else {
            throw invalid("maxBatch", "must be between \(Self.maxBatchRange.lowerBound) and \(Self.maxBatchRange.upperBound)")
        }
        for name in extra.keys.sorted() where Self.managedProperties.contains(name) {
            throw KafkaError(code: .invalidProperty, message: "is set by cae-init itself and cannot be given as an extra property", property: name)
        }
    }

    /// Every librdkafka property the consumer is created with, in the order they are set.
    var properties: [(String, String)] {
        [
            ("bootstrap.servers", brokers.joined(separator: ",")),
            ("group.id", groupID),
            ("client.id", clientID),
            ("session.timeout.ms", "\(sessionTimeout.milliseconds)"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "false"),
            // A closed idle connection is routine, not worth a warning.
            ("log.connection.close", "false"),
        ] + extra.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down; librdkafka's unit.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
