import CRdKafka

extension KafkaTopicPartition {
    /// The entries of a librdkafka partition list.
    static func list(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
        }
    }
}

extension KafkaMessage {
    /// Copies a consumed message out of librdkafka's buffers.
    init(copying raw: UnsafeMutablePointer<rd_kafka_message_t>) {
        let message = raw.pointee
        func bytes(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> [UInt8]? {
            guard let pointer else { return nil }
            return Array(UnsafeRawBufferPointer(start: pointer, count: count))
        }
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(raw, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(raw, &timestampType)
        self.init(
            topic: String(cString: rd_kafka_topic_name(message.rkt)),
            partition: message.partition,
            offset: message.offset,
            key: bytes(message.key, message.key_len),
            value: bytes(message.payload, message.len),
            headers: headers,
            timestampMilliseconds: timestamp >= 0 ? timestamp : nil
        )
    }
}

extension [CChar] {
    /// The NUL-terminated text librdkafka wrote into the buffer.
    var text: String { withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
}
