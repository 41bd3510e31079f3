import CaeInitKafka
import CaeInitSinkService
import CaeInitTestSupport
import Foundation
import Logging
import MetricsTestKit
import ServiceLifecycle
import Testing

/// The consuming loop with the real mock cluster, the Python producer and a recording handler.
@Suite("Sink Service loop", .serialized)
struct SinkServiceTests {
    let logger: Logger = {
        var logger = Logger(label: "sink-service-test")
        logger.logLevel = .warning
        return logger
    }()

    /// A service on `handler` in its own ServiceGroup (no signals: the test triggers the shutdown).
    struct Running {
        let group: ServiceGroup
        let task: Task<Void, any Error>

        func shutdown() async throws {
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }

    func start(_ cluster: KafkaTestCluster, group: String, handler: RecordingHandler, options: SinkServiceOptions, maxBatch: Int = 500,
               topicChanges: AsyncStream<Void>? = nil, metrics: TestMetrics = TestMetrics()) throws -> Running {
        let consumer = try KafkaConsumer(options: consumerOptions(cluster, group: group, maxBatch: maxBatch), logger: logger)
        let service = SinkService(consumer: consumer, handler: handler, options: options, topicChanges: topicChanges, metricsFactory: metrics, logger: logger)
        let serviceGroup = ServiceGroup(services: [service], logger: logger)
        return Running(group: serviceGroup, task: Task { try await serviceGroup.run() })
    }

    /// The group's committed offsets, read by a consumer that does not join the group.
    func committed(_ cluster: KafkaTestCluster, group: String, _ partitions: Set<KafkaTopicPartition>) async throws -> [KafkaTopicPartition: Int64] {
        let probe = try KafkaConsumer(options: consumerOptions(cluster, group: group), logger: logger)
        defer { Task { await probe.close() } }
        return try await probe.committed(partitions)
    }

    func waitUntil(within seconds: Double = 60, _ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !condition() {
            guard Date() < deadline else { throw TestFailure("\(what): not within \(seconds) s") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test("delivers each partition in offset order, commits everything delivered, counts and reports lag")
    func deliversInOrderAndCommits() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("ordered")
        try await cluster.createTopic(topic, partitions: 3)
        let produced = try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<60).map {
            .init(topic: topic, key: "e\($0 % 10)", value: #"{"n":\#($0)}"#)
        })
        let group = uniqueName("group")
        let handler = RecordingHandler(topics: [topic], delay: .milliseconds(5))
        let metrics = TestMetrics()
        let running = try start(cluster, group: group, handler: handler, options: SinkServiceOptions(lagInterval: .milliseconds(200)), maxBatch: 7, metrics: metrics)
        try await waitUntil("60 messages delivered") { handler.delivered.count >= 60 }
        let partitions = Set(produced.map { KafkaTopicPartition(topic: $0.topic, partition: $0.partition) })
        // Lag: some was seen while the batches of 7 went through, and it reaches 0 once everything is delivered.
        try await waitUntil("lag 0 everywhere") {
            try partitions.allSatisfy { try metrics.expectGauge("cae_sink_service_consumer_lag", [("topic", $0.topic), ("partition", "\($0.partition)")]).lastValue == 0 }
        }
        let lagValues = try partitions.flatMap { try metrics.expectGauge("cae_sink_service_consumer_lag", [("topic", $0.topic), ("partition", "\($0.partition)")]).values }
        #expect(lagValues.contains { $0 > 0 }, "a lag was reported while consuming: \(lagValues)")
        try await running.shutdown()

        #expect(handler.delivered.count == 60)
        #expect(handler.attempts.count == 60, "no redelivery")
        for partition in partitions {
            let expected = produced.filter { $0.partition == partition.partition }.map(\.offset)
            #expect(handler.deliveredOffsets(partition.partition) == expected.sorted(), "partition \(partition) in offset order")
        }
        let offsets = try await committed(cluster, group: group, partitions)
        for partition in partitions {
            let last = produced.filter { $0.partition == partition.partition }.map(\.offset).max()!
            #expect(offsets[partition] == last + 1, "\(partition) committed after its last message")
        }
        #expect(try metrics.expectCounter("cae_sink_service_messages_delivered_total").totalValue == 60)
        #expect(try metrics.expectCounter("cae_sink_service_delivery_failures_total").totalValue == 0)
    }

    @Test("a refused message is not committed, nor any later one of its partition, until it is delivered again; other partitions go on")
    func refusedMessageIsRedelivered() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("refused")
        try await cluster.createTopic(topic, partitions: 2)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<20).map {
            .init(topic: topic, key: "e\($0)", value: "v\($0)", partition: Int32($0 % 2))
        })
        let group = uniqueName("group")
        let handler = RecordingHandler(topics: [topic])
        handler.refuse(topic: topic, partition: 0, offset: 3, times: 3)
        let metrics = TestMetrics()
        let running = try start(cluster, group: group, handler: handler, options: SinkServiceOptions(retryBaseDelay: .seconds(1), retryMaxDelay: .seconds(4)), metrics: metrics)
        let p0 = KafkaTopicPartition(topic: topic, partition: 0)
        let p1 = KafkaTopicPartition(topic: topic, partition: 1)

        // While offset 3 of partition 0 is refused (1 s, then 2 s of backoff): 0…2 committed, not 3 or later.
        try await waitUntil("partition 0 committed up to the refused message") {
            try await committed(cluster, group: group, [p0])[p0] == 3
        }
        #expect(!handler.deliveredOffsets(0).contains(3), "offset 3 still refused when the commit stopped at it")
        #expect(handler.deliveredOffsets(0) == [0, 1, 2], "nothing after the refused message delivered")
        try await waitUntil("partition 1 delivered regardless") { handler.deliveredOffsets(1).count == 10 }
        #expect(try await committed(cluster, group: group, [p0])[p0] == 3, "still not past the refused message")

        try await waitUntil("partition 0 delivered after the refusals") { handler.deliveredOffsets(0).count == 10 }
        try await running.shutdown()
        let attemptsOnP0 = handler.attempts.filter { $0.message.partition == 0 }
        #expect(attemptsOnP0.map(\.message.offset) == [0, 1, 2, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9], "redelivered from the refused message, in order")
        #expect(attemptsOnP0.map(\.delivered) == [true, true, true, false, false, false] + Array(repeating: true, count: 7))
        #expect(try await committed(cluster, group: group, [p0, p1]) == [p0: 10, p1: 10])
        #expect(try metrics.expectCounter("cae_sink_service_delivery_failures_total").totalValue == 3)
    }

    @Test("graceful shutdown lets the deliveries in flight finish and commits them")
    func gracefulShutdownCommitsInFlight() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("graceful")
        try await cluster.createTopic(topic, partitions: 1)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<30).map { .init(topic: topic, key: "k", value: "v\($0)") })
        let group = uniqueName("group")
        let handler = RecordingHandler(topics: [topic], delay: .milliseconds(100))
        let running = try start(cluster, group: group, handler: handler, options: SinkServiceOptions(gracefulShutdownTimeout: .seconds(30)))
        try await waitUntil("a few delivered") { handler.delivered.count >= 5 }
        try await running.shutdown()
        // The whole batch was in flight: all of it delivered, all of it committed.
        #expect(handler.delivered.count == 30)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        #expect(try await committed(cluster, group: group, [partition])[partition] == 30)
    }

    @Test("past the grace period, deliveries still running are cancelled and exactly the delivered ones are committed")
    func gracePeriodBoundsShutdown() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("grace")
        try await cluster.createTopic(topic, partitions: 1)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<40).map { .init(topic: topic, key: "k", value: "v\($0)") })
        let group = uniqueName("group")
        let handler = RecordingHandler(topics: [topic], delay: .milliseconds(200))
        let running = try start(cluster, group: group, handler: handler, options: SinkServiceOptions(gracefulShutdownTimeout: .seconds(1)))
        try await waitUntil("a few delivered") { handler.delivered.count >= 3 }
        let started = ContinuousClock.now
        try await running.shutdown()
        #expect(ContinuousClock.now - started < .seconds(6), "bounded by the grace period")
        let delivered = handler.deliveredOffsets(0)
        #expect(delivered.count < 40, "the batch was cut short")
        #expect(delivered == Array(0..<Int64(delivered.count)))
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        #expect(try await committed(cluster, group: group, [partition])[partition] == Int64(delivered.count), "committed exactly after the last delivered")
    }

    @Test("a topic-change trigger subscribes to a new topic without a restart (refresh interval far away)")
    func newTopicOnTrigger() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topicA = uniqueName("a")
        let topicB = uniqueName("b")
        try await cluster.createTopic(topicA, partitions: 1)
        try await cluster.createTopic(topicB, partitions: 1)
        let handler = RecordingHandler(topics: [topicA])
        let (changes, trigger) = AsyncStream.makeStream(of: Void.self)
        let running = try start(cluster, group: uniqueName("group"), handler: handler, options: SinkServiceOptions(topicRefreshInterval: .seconds(3600)), topicChanges: changes)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: [.init(topic: topicA, key: "k", value: "a0"), .init(topic: topicB, key: "k", value: "b0")])
        try await waitUntil("a0 delivered") { handler.delivered.contains { $0.valueText == "a0" } }
        try await Task.sleep(for: .seconds(2))
        #expect(!handler.delivered.contains { $0.topic == topicB }, "B is not subscribed yet")

        handler.setTopics([topicA, topicB])
        trigger.yield()
        try await waitUntil(within: 30, "b0 delivered after the trigger") { handler.delivered.contains { $0.valueText == "b0" } }
        try await running.shutdown()
        #expect(handler.delivered.filter { $0.valueText == "a0" }.count == 1, "a0 committed before the re-subscription: not delivered twice")
    }

    @Test("without a trigger, the topic set is read again every topicRefreshInterval")
    func newTopicOnRefresh() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topicA = uniqueName("a")
        let topicB = uniqueName("b")
        try await cluster.createTopic(topicA, partitions: 1)
        try await cluster.createTopic(topicB, partitions: 1)
        let handler = RecordingHandler(topics: [topicA])
        let running = try start(cluster, group: uniqueName("group"), handler: handler, options: SinkServiceOptions(topicRefreshInterval: .seconds(1)))
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: [.init(topic: topicB, key: "k", value: "b0")])
        try await Task.sleep(for: .seconds(3))
        #expect(handler.delivered.isEmpty)
        handler.setTopics([topicB])
        try await waitUntil(within: 30, "b0 delivered after a refresh") { handler.delivered.contains { $0.valueText == "b0" } }
        try await running.shutdown()
    }

    @Test("options out of range are refused naming the option, on each side of the bounds")
    func optionsAreValidated() {
        func refused(_ options: SinkServiceOptions) -> String? {
            do {
                try options.validate()
                return nil
            } catch {
                return error.option
            }
        }
        #expect(refused(SinkServiceOptions()) == nil)
        #expect(refused(SinkServiceOptions(partitionConcurrency: 0)) == "partitionConcurrency")
        #expect(refused(SinkServiceOptions(partitionConcurrency: 1)) == nil)
        #expect(refused(SinkServiceOptions(partitionConcurrency: 256)) == nil)
        #expect(refused(SinkServiceOptions(partitionConcurrency: 257)) == "partitionConcurrency")
        #expect(refused(SinkServiceOptions(topicRefreshInterval: .milliseconds(99))) == "topicRefreshInterval")
        #expect(refused(SinkServiceOptions(topicRefreshInterval: .milliseconds(100))) == nil)
        #expect(refused(SinkServiceOptions(gracefulShutdownTimeout: .zero)) == nil)
        #expect(refused(SinkServiceOptions(gracefulShutdownTimeout: .seconds(-1))) == "gracefulShutdownTimeout")
        #expect(refused(SinkServiceOptions(retryBaseDelay: .seconds(2), retryMaxDelay: .seconds(1))) == "retryMaxDelay")
        #expect(refused(SinkServiceOptions(retryBaseDelay: .seconds(2), retryMaxDelay: .seconds(2))) == nil)
        let options = SinkServiceOptions(retryBaseDelay: .seconds(1), retryMaxDelay: .seconds(5))
        #expect((1...5).map { options.retryDelay(afterFailures: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
    }
}
