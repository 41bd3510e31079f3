import CRdKafka
import Dispatch
import Logging

/// A Kafka consumer in a consumer group, on librdkafka. Every librdkafka call runs on the consumer's own serial
/// queue, so the blocking poll and the synchronous commit never occupy the cooperative thread pool. Offsets are
/// never committed or stored automatically: the owner commits what it has delivered (`commit`).
///
/// `@unchecked Sendable`: `handle` is only touched on `queue`; the context is immutable or locked.
public final class KafkaConsumer: @unchecked Sendable {
    private var handle: OpaquePointer?
    private let context: KafkaClientContext
    private let queue = DispatchQueue(label: "cae-init.kafka-consumer")
    public let options: KafkaConsumerOptions
    let logger: Logger

    /// Creates the consumer (no connection yet: it connects on `subscribe`). Throws when an option is out of range
    /// or librdkafka refuses a property (the error names it, never its value).
    public init(options: KafkaConsumerOptions, logger: Logger) throws(KafkaError) {
        try options.validate()
        self.options = options
        self.logger = logger
        self.context = KafkaClientContext(logger: logger)
        guard let conf = rd_kafka_conf_new() else { throw KafkaError(code: .creationFailed, message: "out of memory") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in options.properties {
            let result = rd_kafka_conf_set(conf, name, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw Self.configurationError(result, property: name, value: value, librdkafka: errorText.text)
            }
        }
        context.install(on: conf)
        // On success the handle owns `conf`; on failure it is still ours.
        guard let created = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: .creationFailed, message: errorText.text)
        }
        _ = Unmanaged.passRetained(context)
        handle = created
        // Messages and callbacks all come through `rd_kafka_consumer_poll`.
        rd_kafka_poll_set_consumer(created)
    }

    deinit {
        if let handle {
            rd_kafka_destroy(handle)
            Unmanaged.passUnretained(context).release()
        }
    }

    /// A refused property, named; librdkafka's text is kept only when it cannot hold the value.
    static func configurationError(_ result: rd_kafka_conf_res_t, property: String, value: String, librdkafka: String) -> KafkaError {
        if result == RD_KAFKA_CONF_UNKNOWN {
            return KafkaError(code: .unknownProperty, message: "librdkafka has no such configuration property", property: property)
        }
        let safe = value.isEmpty || !librdkafka.contains(value) ? librdkafka : "the value is not accepted"
        return KafkaError(code: .invalidProperty, message: safe.isEmpty ? "the value is not accepted" : safe, property: property)
    }

    /// Runs `body` on the consumer's queue with the open handle.
    private func onQueue<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws(KafkaError) -> T) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result { () throws(KafkaError) -> T in
                    guard let handle = self.handle else { throw KafkaError(code: .closed, message: "the consumer is closed") }
                    return try body(handle)
                })
            }
        }
        return try result.get()
    }

    /// Replaces the subscription with `topics`; an empty set unsubscribes (the group then gives this member nothing).
    public func subscribe(topics: Set<String>) async throws(KafkaError) {
        try await onQueue { (handle) throws(KafkaError) in
            if topics.isEmpty {
                let error = rd_kafka_unsubscribe(handle)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: .subscribeFailed, error: error) }
                return
            }
            let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for topic in topics.sorted() { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
            let error = rd_kafka_subscribe(handle, list)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: .subscribeFailed, error: error) }
        }
        logger.info("subscribed", metadata: ["topics": "\(topics.sorted().joined(separator: ","))"])
    }

    /// Up to `maxBatch` messages, waiting at most `pollTimeout` for the first; empty when none came. Transient errors
    /// (brokers down, a topic not created yet) are logged once per streak, not thrown; fatal ones are thrown.
    public func poll() async throws(KafkaError) -> [KafkaMessage] {
        let timeout = options.pollTimeout
        let maxBatch = options.maxBatch
        let context = self.context
        let messages = try await onQueue { (handle) throws(KafkaError) -> [KafkaMessage] in
            var messages: [KafkaMessage] = []
            let deadline = ContinuousClock.now + timeout
            while messages.count < maxBatch {
                // After the first message, only what is already fetched: a batch never waits twice.
                let remaining = messages.isEmpty ? max(Duration.zero, deadline - .now) : .zero
                guard let raw = rd_kafka_consumer_poll(handle, Int32(clamping: remaining.milliseconds)) else { break }
                defer { rd_kafka_message_destroy(raw) }
                if raw.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    messages.append(KafkaMessage(copying: raw))
                } else {
                    try Self.handle(errorMessage: raw, context: context)
                }
                if let fatal = context.fatal { throw fatal }
            }
            if let fatal = context.fatal { throw fatal }
            return messages
        }
        if !messages.isEmpty { context.recovered() }
        return messages
    }

    /// A consumer error returned by the poll: thrown when no retry can fix it, logged otherwise.
    private static func handle(errorMessage raw: UnsafeMutablePointer<rd_kafka_message_t>, context: KafkaClientContext) throws(KafkaError) {
        let error = raw.pointee.err
        let text = String(cString: rd_kafka_message_errstr(raw))
        let topic = raw.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
        switch error {
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
            return
        case RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
             RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__INVALID_ARG:
            throw KafkaError(code: error == RD_KAFKA_RESP_ERR__FATAL ? .fatal : .pollFailed, error: error, message: text, topic: topic, partition: topic == nil ? nil : raw.pointee.partition)
        default:
            context.transient(error, text, topic: topic)
        }
    }

    /// Commits next offsets (the last delivered offset + 1) of each partition, synchronously: when it returns, the
    /// group will resume there.
    public func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try await onQueue { (handle) throws(KafkaError) in
            let list = Self.partitionList(offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let error = rd_kafka_commit(handle, list, 0)
            try Self.check(list, error, code: .commitFailed)
        }
    }

    /// Moves each partition's fetch position to the given offset: messages already fetched past it are dropped and
    /// fetched again (a delivery that failed is retried from its message).
    public func seek(_ offsets: [KafkaTopicPartition: Int64]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try await onQueue { (handle) throws(KafkaError) in
            let list = Self.partitionList(offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if let failure = rd_kafka_seek_partitions(handle, list, 10_000) {
                defer { rd_kafka_error_destroy(failure) }
                throw KafkaError(code: .seekFailed, error: rd_kafka_error_code(failure), message: String(cString: rd_kafka_error_string(failure)))
            }
            try Self.check(list, RD_KAFKA_RESP_ERR_NO_ERROR, code: .seekFailed)
        }
    }

    /// Stops fetching these partitions (a partition whose delivery failed waits out its backoff) until `resume`;
    /// messages already fetched for them are dropped and fetched again later.
    public func pause(_ partitions: Set<KafkaTopicPartition>) async throws(KafkaError) {
        try await pauseOrResume(partitions, pause: true)
    }

    public func resume(_ partitions: Set<KafkaTopicPartition>) async throws(KafkaError) {
        try await pauseOrResume(partitions, pause: false)
    }

    private func pauseOrResume(_ partitions: Set<KafkaTopicPartition>, pause: Bool) async throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        try await onQueue { (handle) throws(KafkaError) in
            let list = Self.partitionList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let error = pause ? rd_kafka_pause_partitions(handle, list) : rd_kafka_resume_partitions(handle, list)
            try Self.check(list, error, code: .seekFailed)
        }
    }

    /// The group's committed next offsets of these partitions, asked of the group coordinator (waits up to
    /// `timeout`); a partition without a committed offset is left out. Does not join the group.
    public func committed(_ partitions: Set<KafkaTopicPartition>, timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        return try await onQueue { (handle) throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            let list = Self.partitionList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let error = rd_kafka_committed(handle, list, Int32(clamping: timeout.milliseconds))
            try Self.check(list, error, code: .pollFailed)
            var offsets: [KafkaTopicPartition: Int64] = [:]
            for index in 0..<Int(list.pointee.cnt) where list.pointee.elems[index].offset >= 0 {
                let element = list.pointee.elems[index]
                offsets[KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)] = element.offset
            }
            return offsets
        }
    }

    /// Messages not yet consumed, per assigned partition: high watermark − position. Partitions whose position or
    /// watermark is not known yet (nothing fetched since the assignment) are left out.
    public func lag() async -> [KafkaTopicPartition: Int64] {
        (try? await onQueue { handle -> [KafkaTopicPartition: Int64] in
            var assigned: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(handle, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR, let list = assigned else { return [:] }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            _ = rd_kafka_position(handle, list)
            var lags: [KafkaTopicPartition: Int64] = [:]
            for index in 0..<Int(list.pointee.cnt) {
                let element = list.pointee.elems[index]
                var low: Int64 = -1
                var high: Int64 = -1
                guard element.offset >= 0,
                      rd_kafka_get_watermark_offsets(handle, element.topic, element.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                      high >= 0 else { continue }
                lags[KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)] = max(0, high - element.offset)
            }
            return lags
        }) ?? [:]
    }

    /// The partitions the group gave this member.
    public func assignment() async -> Set<KafkaTopicPartition> {
        (try? await onQueue { handle -> Set<KafkaTopicPartition> in
            var assigned: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(handle, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR, let list = assigned else { return [] }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return Set(KafkaTopicPartition.list(list))
        }) ?? []
    }

    /// Leaves the group (its partitions go to the other members at once), then frees the client. Idempotent.
    public func close() async {
        let context = self.context
        let closed: Bool = await withCheckedContinuation { continuation in
            queue.async {
                guard let handle = self.handle else { return continuation.resume(returning: false) }
                let error = rd_kafka_consumer_close(handle)
                if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                    self.logger.warning("leaving the group failed", metadata: ["error": "\(String(cString: rd_kafka_err2name(error)))"])
                }
                rd_kafka_destroy(handle)
                self.handle = nil
                Unmanaged.passUnretained(context).release()
                continuation.resume(returning: true)
            }
        }
        if closed { logger.info("Kafka consumer closed") }
    }

    private static func partitionList(_ offsets: [KafkaTopicPartition: Int64]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!.pointee.offset = offset
        }
        return list
    }

    /// Throws the call's error, or the first partition's.
    private static func check(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, _ error: rd_kafka_resp_err_t, code: KafkaError.Code) throws(KafkaError) {
        for index in 0..<Int(list.pointee.cnt) where list.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let element = list.pointee.elems[index]
            throw KafkaError(code: code, error: element.err, topic: String(cString: element.topic), partition: element.partition)
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            // The request as a whole failed: name its partition when there is one, list them otherwise.
            let partitions = KafkaTopicPartition.list(list)
            if partitions.count == 1 { throw KafkaError(code: code, error: error, topic: partitions[0].topic, partition: partitions[0].partition) }
            throw KafkaError(code: code, error: error, message: "\(String(cString: rd_kafka_err2str(error))) (partitions \(partitions.map(\.description).joined(separator: ", ")))")
        }
    }
}
