import CRdKafka
import Logging
import Synchronization

/// What librdkafka's C callbacks (log, error, rebalance) reach through the client's opaque pointer: the logger and
/// the error streak. Retained by the consumer until its handle is destroyed.
final class KafkaClientContext: Sendable {
    let logger: Logger
    private struct State {
        /// The transient error codes logged since the last message: each is logged once per streak.
        var streak: Set<Int32> = []
        var fatal: KafkaError?
    }
    private let state = Mutex(State())

    init(logger: Logger) { self.logger = logger }

    /// A transient error (a broker down, every broker down, a topic not known yet): logged once per streak.
    func transient(_ error: rd_kafka_resp_err_t, _ reason: String, topic: String? = nil) {
        let first = state.withLock { $0.streak.insert(error.rawValue).inserted }
        guard first else { return }
        var metadata: Logger.Metadata = ["error": "\(String(cString: rd_kafka_err2name(error)))", "reason": "\(reason)"]
        if let topic { metadata["topic"] = "\(topic)" }
        logger.warning("Kafka unavailable, retrying (logged once until messages flow again)", metadata: metadata)
    }

    /// Messages flow again: the streak is over.
    func recovered() {
        let ended = state.withLock { state -> Bool in
            defer { state.streak = [] }
            return !state.streak.isEmpty
        }
        if ended { logger.info("Kafka consuming again") }
    }

    func raiseFatal(_ error: KafkaError) {
        state.withLock { if $0.fatal == nil { $0.fatal = error } }
    }

    var fatal: KafkaError? { state.withLock { $0.fatal } }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> KafkaClientContext? {
        opaque.map { Unmanaged<KafkaClientContext>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Installs the callbacks on `conf`, with `self` (retained by the caller) as opaque.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { client, level, facility, line in
            guard let client, let context = KafkaClientContext.from(rd_kafka_opaque(client)) else { return }
            let text = line.map { String(cString: $0) } ?? ""
            let facilityName = facility.map { String(cString: $0) } ?? ""
            context.logger.log(level: KafkaClientContext.logLevel(syslog: level), "librdkafka: \(text)", metadata: ["facility": "\(facilityName)"])
        }
        rd_kafka_conf_set_error_cb(conf) { client, code, reason, opaque in
            guard let context = KafkaClientContext.from(opaque) else { return }
            let error = rd_kafka_resp_err_t(rawValue: code)
            let text = reason.map { String(cString: $0) } ?? ""
            if error == RD_KAFKA_RESP_ERR__FATAL, let client {
                var buffer = [CChar](repeating: 0, count: 512)
                let original = rd_kafka_fatal_error(client, &buffer, buffer.count)
                context.raiseFatal(KafkaError(code: .fatal, error: original, message: buffer.text))
            } else {
                context.transient(error, text)
            }
        }
        rd_kafka_conf_set_rebalance_cb(conf) { client, error, partitions, opaque in
            guard let client else { return }
            let context = KafkaClientContext.from(opaque)
            let names = partitions.map { KafkaTopicPartition.list($0).map(\.description).joined(separator: ", ") } ?? ""
            let cooperative = String(cString: rd_kafka_rebalance_protocol(client)) == "COOPERATIVE"
            if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                context?.logger.info("partitions assigned", metadata: ["partitions": "\(names)"])
                if cooperative {
                    if let failure = rd_kafka_incremental_assign(client, partitions) { rd_kafka_error_destroy(failure) }
                } else {
                    rd_kafka_assign(client, partitions)
                }
            } else {
                context?.logger.info("partitions revoked", metadata: ["partitions": "\(names)"])
                if cooperative {
                    if let failure = rd_kafka_incremental_unassign(client, partitions) { rd_kafka_error_destroy(failure) }
                } else {
                    rd_kafka_assign(client, nil)
                }
            }
        }
    }

    /// librdkafka logs with syslog levels; its level 3 lines are mostly a broker connection failing, which the
    /// client retries: a warning, not an error.
    static func logLevel(syslog level: Int32) -> Logger.Level {
        switch level {
        case ...2: return .error
        case 3: return .warning
        case 4: return .notice
        case 5, 6: return .info
        default: return .debug
        }
    }
}
