import CaeInitKafka
import Metrics
import Synchronization

/// The consuming loop's metrics (the routing side counts written, kept and dead-lettered messages itself):
/// `cae_sink_service_consumer_lag{topic,partition}` (gauge), `cae_sink_service_messages_delivered_total` and
/// `cae_sink_service_delivery_failures_total` (counters). Served on the process's `/metrics` like the worker's.
final class SinkServiceMetrics: Sendable {
    let factory: any MetricsFactory
    let delivered: Counter
    let failures: Counter
    /// Partitions whose lag was reported: a partition no longer assigned is reported 0, not left at a stale value.
    private let reported = Mutex<Set<KafkaTopicPartition>>([])

    init(factory: any MetricsFactory) {
        self.factory = factory
        delivered = Counter(label: "cae_sink_service_messages_delivered_total", factory: factory)
        failures = Counter(label: "cae_sink_service_delivery_failures_total", factory: factory)
    }

    func recordLag(_ lags: [KafkaTopicPartition: Int64]) {
        let gone = reported.withLock { reported -> Set<KafkaTopicPartition> in
            let gone = reported.subtracting(lags.keys)
            reported = Set(lags.keys)
            return gone
        }
        for (partition, lag) in lags { gauge(partition).record(lag) }
        for partition in gone { gauge(partition).record(0) }
    }

    private func gauge(_ partition: KafkaTopicPartition) -> Gauge {
        Gauge(label: "cae_sink_service_consumer_lag", dimensions: [("topic", partition.topic), ("partition", "\(partition.partition)")], factory: factory)
    }
}
