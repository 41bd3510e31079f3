/// One consumed Kafka message, copied out of librdkafka's buffers so it outlives the poll.
public struct KafkaMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The message key (for the Sink Service, the dossier's `entite_id`); nil when the producer sent none.
    public var key: [UInt8]?
    /// The message value; nil for a tombstone.
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// The message timestamp (epoch milliseconds), when the broker or producer set one.
    public var timestampMilliseconds: Int64?

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = [], timestampMilliseconds: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    /// The value of the last header of that name, as UTF-8 text (nil when absent or not UTF-8).
    public func header(_ name: String) -> String? {
        guard let bytes = headers.last(where: { $0.name == name })?.value else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// One message header; Kafka allows a header without a value.
public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}

/// A partition of a topic: the unit of ordering and of committed offsets.
public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)[\(partition)]" }
}
