import CRdKafka

/// The linked librdkafka, for the service's start-up log line.
public enum Librdkafka {
    public static var version: String { String(cString: rd_kafka_version_str()) }
}
