import CaeInitKafka
import CaeInitTestSupport
import Foundation
import Logging
import Synchronization

/// A name no other test uses (topics and groups of one mock cluster).
func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UInt32.random(in: 0...UInt32.max))" }

/// Options for a consumer of the test cluster. The mock's group coordinator waits the session timeout less 1 s
/// before it completes a rebalance of a running group: a short session keeps the tests quick.
func consumerOptions(_ cluster: KafkaTestCluster, group: String, maxBatch: Int = 500, sessionTimeout: Duration = .seconds(6), extra: [String: String] = [:]) -> KafkaConsumerOptions {
    KafkaConsumerOptions(
        brokers: cluster.bootstrap.split(separator: ",").map(String.init), groupID: group,
        sessionTimeout: sessionTimeout, pollTimeout: .milliseconds(200), maxBatch: maxBatch,
        extra: [
            "topic.metadata.refresh.interval.ms": "1000", "reconnect.backoff.max.ms": "1000", "heartbeat.interval.ms": "500",
        ].merging(extra) { $1 }
    )
}

/// Polls until `count` messages came (more are kept), or fails after `seconds`.
func consume(_ consumer: KafkaConsumer, count: Int, within seconds: Double = 60) async throws -> [KafkaMessage] {
    var messages: [KafkaMessage] = []
    let deadline = Date().addingTimeInterval(seconds)
    while messages.count < count {
        guard Date() < deadline else { throw TestFailure("consumed \(messages.count) of \(count) messages within \(seconds) s") }
        messages += try await consumer.poll()
    }
    return messages
}

/// Polls (so the group's rebalances progress) until `condition` holds, or fails after `seconds`.
func pollUntil(_ consumers: [KafkaConsumer], within seconds: Double = 60, _ what: String, condition: () async -> Bool) async throws -> [KafkaMessage] {
    var messages: [KafkaMessage] = []
    let deadline = Date().addingTimeInterval(seconds)
    while await !condition() {
        guard Date() < deadline else { throw TestFailure("\(what): not within \(seconds) s") }
        for consumer in consumers { messages += try await consumer.poll() }
    }
    return messages
}

extension KafkaMessage {
    var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    var valueText: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

/// Keeps every log line, for asserting what was logged (and how often).
final class LogRecorder: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])

    var recorded: [Line] { lines.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "cae-init-kafka-test") { _ in Handler(recorder: self) }
        logger.logLevel = .debug
        return logger
    }

    func append(_ line: Line) { lines.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            let merged = self.metadata.merging(explicit ?? [:]) { $1 }
            recorder.append(Line(level: level, message: message.description, metadata: merged.mapValues { "\($0)" }))
        }
    }
}
