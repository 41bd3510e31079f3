import CaeInitCore
import Foundation

/// Produces messages with `kafka_produce.py` (PyPI confluent-kafka): a separate process and a client apart from the
/// code under test.
public enum KafkaTestProducer {
    public struct Message: Sendable {
        public var topic: String
        public var key: String?
        /// The value as text (a JSON document is text too).
        public var value: String?
        public var headers: [String: String]
        /// The partition; nil lets the producer's partitioner choose by key.
        public var partition: Int32?

        public init(topic: String, key: String?, value: String?, headers: [String: String] = [:], partition: Int32? = nil) {
            self.topic = topic
            self.key = key
            self.value = value
            self.headers = headers
            self.partition = partition
        }

        var jsonLine: String {
            var object = JSONObject([("topic", .string(topic))])
            if let key { object["key"] = .string(key) }
            if let value { object["value"] = .string(value) }
            if !headers.isEmpty { object["headers"] = .object(JSONObject(headers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })) }
            if let partition { object["partition"] = .number("\(partition)") }
            return JSONValue.object(object).serialized()
        }
    }

    /// Where a message landed.
    public struct Produced: Sendable, Hashable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
    }

    /// Produces `messages` in order (acks=all, flushed) and returns where each landed, in the same order; throws
    /// when any delivery failed.
    @discardableResult
    public static func produce(bootstrap: String, messages: [Message]) async throws -> [Produced] {
        let process = try KafkaPipedProcess(executable: "python3", arguments: [SupportFiles.path("kafka_produce.py"), bootstrap])
        let input = messages.map { $0.jsonLine + "\n" }.joined()
        let (status, lines): (Int32, [String]) = try await withCheckedThrowingContinuation { continuation in
            // Writing and reading block: off the cooperative pool.
            Thread.detachNewThread {
                do {
                    try process.write(input)
                    process.closeInput()
                    var lines: [String] = []
                    while let line = process.readLine(within: 120) { lines.append(line) }
                    continuation.resume(returning: (process.reap(), lines))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        guard status == 0 else { throw TestFailure("kafka_produce.py exited \(status): \(process.standardError)") }
        let produced = lines.compactMap { line -> Produced? in
            let words = line.split(separator: " ")
            guard words.count == 4, words[0] == "PRODUCED", let partition = Int32(words[2]), let offset = Int64(words[3]) else { return nil }
            return Produced(topic: String(words[1]), partition: partition, offset: offset)
        }
        guard produced.count == messages.count else {
            throw TestFailure("kafka_produce.py reported \(produced.count) of \(messages.count) messages: \(process.standardError)")
        }
        return produced
    }
}
