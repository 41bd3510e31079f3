import CRdKafka

/// A Kafka failure with what an operator needs to act: a code, librdkafka's error name (`_TRANSPORT`,
/// `UNKNOWN_TOPIC_OR_PART`…), the configuration property or partition concerned. Its `description` never holds a
/// configuration value (a `sasl.password` stays out of logs and errors).
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case invalidOption, unknownProperty, invalidProperty, creationFailed, subscribeFailed, pollFailed, commitFailed, seekFailed, fatal, closed
        }

        let base: Base
        /// A `KafkaConsumerOptions` value out of its range (see `option`).
        public static let invalidOption = Code(base: .invalidOption)
        /// librdkafka knows no such configuration property (see `property`).
        public static let unknownProperty = Code(base: .unknownProperty)
        /// librdkafka refused a configuration property's value (see `property`).
        public static let invalidProperty = Code(base: .invalidProperty)
        /// The client could not be created.
        public static let creationFailed = Code(base: .creationFailed)
        /// The subscription could not be changed.
        public static let subscribeFailed = Code(base: .subscribeFailed)
        /// Consuming failed in a way a retry will not fix.
        public static let pollFailed = Code(base: .pollFailed)
        /// The offsets could not be committed (the messages will be delivered again).
        public static let commitFailed = Code(base: .commitFailed)
        /// A partition could not be rewound.
        public static let seekFailed = Code(base: .seekFailed)
        /// librdkafka raised a fatal error: the consumer is unusable.
        public static let fatal = Code(base: .fatal)
        /// The consumer was closed by its owner.
        public static let closed = Code(base: .closed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// librdkafka's name of its error code (`rd_kafka_err2name`), when librdkafka reported one.
    public var name: String?
    public var message: String
    /// The `KafkaConsumerOptions` property or librdkafka configuration property concerned.
    public var property: String?
    public var topic: String?
    public var partition: Int32?

    public init(code: Code, name: String? = nil, message: String, property: String? = nil, topic: String? = nil, partition: Int32? = nil) {
        self.code = code
        self.name = name
        self.message = message
        self.property = property
        self.topic = topic
        self.partition = partition
    }

    init(code: Code, error: rd_kafka_resp_err_t, message: String? = nil, topic: String? = nil, partition: Int32? = nil) {
        self.init(
            code: code, name: String(cString: rd_kafka_err2name(error)),
            message: message ?? String(cString: rd_kafka_err2str(error)), topic: topic, partition: partition
        )
    }

    public var description: String {
        var text = "Kafka \(code)"
        if let name { text += " [\(name)]" }
        if let property { text += " \(property)" }
        if let topic {
            text += " (\(topic)"
            if let partition { text += "[\(partition)]" }
            text += ")"
        }
        return text + ": \(message)"
    }
}
