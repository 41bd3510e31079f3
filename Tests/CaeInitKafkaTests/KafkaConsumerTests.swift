import CaeInitKafka
import CaeInitTestSupport
import Foundation
import Logging
import Testing

/// `KafkaConsumer` against librdkafka's mock cluster, with messages produced by a separate confluent-kafka process.
@Suite("Kafka consumer", .serialized)
struct KafkaConsumerTests {
    let logger: Logger = {
        var logger = Logger(label: "kafka-consumer-test")
        logger.logLevel = .warning
        return logger
    }()

    @Test("consumes keys, values, headers and offsets as produced, in offset order per partition")
    func consumesWhatWasProduced() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("produced")
        try await cluster.createTopic(topic, partitions: 3)
        let sent = (0..<30).map { index in
            KafkaTestProducer.Message(
                topic: topic, key: index == 29 ? nil : "entite-\(index % 7)",
                value: index == 28 ? "plain text é" : #"{"n":\#(index),"montant":"12.30"}"#,
                headers: ["kind": index % 2 == 0 ? "journal" : "compte", "n": "\(index)"]
            )
        }
        let produced = try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: sent)

        let consumer = try KafkaConsumer(options: consumerOptions(cluster, group: uniqueName("group")), logger: logger)
        try await consumer.subscribe(topics: [topic])
        let messages = try await consume(consumer, count: 30)
        await consumer.close()

        #expect(messages.count == 30)
        for (index, message) in sent.enumerated() {
            let landed = produced[index]
            let received = try #require(messages.first { $0.partition == landed.partition && $0.offset == landed.offset }, "message \(index)")
            #expect(received.topic == topic)
            #expect(received.keyText == message.key)
            #expect(received.valueText == message.value)
            #expect(received.header("kind") == message.headers["kind"])
            #expect(received.header("n") == "\(index)")
            #expect(received.timestampMilliseconds != nil)
        }
        for partition in Set(messages.map(\.partition)) {
            let offsets = messages.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition) in offset order from 0")
        }
    }

    @Test("a poll returns at most maxBatch messages: 1 gives one at a time, 2 gives two")
    func pollHonoursMaxBatch() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("batch")
        try await cluster.createTopic(topic, partitions: 1)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<6).map { KafkaTestProducer.Message(topic: topic, key: "k", value: "\($0)") })
        for maxBatch in [1, 2] {
            let consumer = try KafkaConsumer(options: consumerOptions(cluster, group: uniqueName("group"), maxBatch: maxBatch), logger: logger)
            try await consumer.subscribe(topics: [topic])
            var sizes: [Int] = []
            var total = 0
            let deadline = Date().addingTimeInterval(60)
            while total < 6, Date() < deadline {
                let batch = try await consumer.poll()
                if !batch.isEmpty { sizes.append(batch.count) }
                total += batch.count
            }
            await consumer.close()
            #expect(total == 6)
            #expect(sizes.allSatisfy { $0 <= maxBatch }, "batches \(sizes) with maxBatch \(maxBatch)")
            if maxBatch == 2 { #expect(sizes.contains(2), "batches \(sizes): messages already fetched come together") }
        }
    }

    @Test("a new consumer of the group resumes exactly at the committed offset")
    func resumesAtCommittedOffset() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("resume")
        try await cluster.createTopic(topic, partitions: 1)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<10).map { KafkaTestProducer.Message(topic: topic, key: "k", value: "v\($0)") })
        let group = uniqueName("group")
        let partition = KafkaTopicPartition(topic: topic, partition: 0)

        let first = try KafkaConsumer(options: consumerOptions(cluster, group: group), logger: logger)
        try await first.subscribe(topics: [topic])
        let all = try await consume(first, count: 10)
        #expect(all.map(\.offset) == Array(0..<10))
        // Offsets 0…4 delivered: the next offset is 5.
        try await first.commit([partition: 5])
        await first.close()

        let second = try KafkaConsumer(options: consumerOptions(cluster, group: group), logger: logger)
        try await second.subscribe(topics: [topic])
        let rest = try await consume(second, count: 5)
        await second.close()
        #expect(rest.first?.offset == 5, "not 4 (before the commit), not 6 (after it)")
        #expect(rest.map(\.offset) == Array(5..<10))
        #expect(rest.first?.valueText == "v5")
    }

    @Test("subscribe replaces the topic set without a restart; an empty set unsubscribes")
    func resubscribes() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topicA = uniqueName("a")
        let topicB = uniqueName("b")
        try await cluster.createTopic(topicA, partitions: 2)
        try await cluster.createTopic(topicB, partitions: 1)
        let consumer = try KafkaConsumer(options: consumerOptions(cluster, group: uniqueName("group")), logger: logger)
        try await consumer.subscribe(topics: [topicA])
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: [.init(topic: topicA, key: "k", value: "a0")])
        let fromA = try await consume(consumer, count: 1)
        #expect(fromA.map(\.valueText) == ["a0"])
        // Committed, so the rebalance the new subscription causes does not deliver it again.
        try await consumer.commit([fromA[0].topicPartition: fromA[0].offset + 1])

        try await consumer.subscribe(topics: [topicA, topicB])
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: [.init(topic: topicB, key: "k", value: "b0")])
        let fromB = try await consume(consumer, count: 1)
        #expect(fromB.map(\.topic) == [topicB])
        #expect(fromB.map(\.valueText) == ["b0"])

        try await consumer.subscribe(topics: [topicB])
        _ = try await pollUntil([consumer], "only topic B assigned") { await consumer.assignment() == [KafkaTopicPartition(topic: topicB, partition: 0)] }

        try await consumer.subscribe(topics: [])
        _ = try await pollUntil([consumer], "nothing assigned") { await consumer.assignment().isEmpty }
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: [.init(topic: topicB, key: "k", value: "b1")])
        var late: [KafkaMessage] = []
        for _ in 0..<10 { late += try await consumer.poll() }
        #expect(late.isEmpty, "unsubscribed: nothing consumed")
        await consumer.close()
    }

    @Test("a broker down then up: the poll does not throw, logs the outage once, and nothing is lost")
    func brokerDownThenUp() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("outage")
        try await cluster.createTopic(topic, partitions: 2)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<20).map { .init(topic: topic, key: "k\($0)", value: "before-\($0)") })
        let recorder = LogRecorder()
        let consumer = try KafkaConsumer(options: consumerOptions(cluster, group: uniqueName("group")), logger: recorder.logger)
        try await consumer.subscribe(topics: [topic])
        var messages = try await consume(consumer, count: 20)

        try await cluster.setBrokerDown(1)
        for _ in 0..<15 { messages += try await consumer.poll() }
        try await cluster.setBrokerUp(1)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<20).map { .init(topic: topic, key: "k\($0)", value: "after-\($0)") })
        messages += try await consume(consumer, count: 40 - messages.count)
        await consumer.close()

        #expect(Set(messages.compactMap(\.valueText)) == Set((0..<20).flatMap { ["before-\($0)", "after-\($0)"] }))
        for partition in Set(messages.map(\.partition)) {
            let offsets = messages.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition): no gap, no repeat")
        }
        let outages = recorder.recorded.filter { $0.message.hasPrefix("Kafka unavailable") }
        #expect(!outages.isEmpty, "the outage is logged")
        let perError = Dictionary(grouping: outages, by: { $0.metadata["error"] ?? "" })
        #expect(perError.values.allSatisfy { $0.count == 1 }, "each error once per streak: \(perError.mapValues(\.count))")
    }

    @Test("injected Fetch errors are retried: every message arrives once, in order")
    func fetchErrorsAreRetried() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("fetch-errors")
        try await cluster.createTopic(topic, partitions: 1)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<10).map { .init(topic: topic, key: "k", value: "v\($0)") })
        try await cluster.pushRequestErrors(api: "Fetch", ["NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", "NOT_LEADER_FOR_PARTITION"])
        let consumer = try KafkaConsumer(options: consumerOptions(cluster, group: uniqueName("group")), logger: logger)
        try await consumer.subscribe(topics: [topic])
        let messages = try await consume(consumer, count: 10)
        await consumer.close()
        #expect(messages.map(\.offset) == Array(0..<10))
        #expect(messages.map(\.valueText) == (0..<10).map { "v\($0)" })
    }

    @Test("an error no retry can fix (the group not authorised) is thrown by poll, naming librdkafka's error")
    func fatalErrorsAreThrown() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("denied")
        try await cluster.createTopic(topic, partitions: 1)
        try await cluster.pushRequestErrors(api: "JoinGroup", Array(repeating: "GROUP_AUTHORIZATION_FAILED", count: 5))
        var quiet = logger
        quiet.logLevel = .critical
        let consumer = try KafkaConsumer(options: consumerOptions(cluster, group: uniqueName("group")), logger: quiet)
        try await consumer.subscribe(topics: [topic])
        var thrown: KafkaError?
        let deadline = Date().addingTimeInterval(30)
        while thrown == nil, Date() < deadline {
            do { _ = try await consumer.poll() } catch { thrown = error }
        }
        await consumer.close()
        #expect(thrown?.code == .pollFailed)
        #expect(thrown?.name == "GROUP_AUTHORIZATION_FAILED")
    }

    @Test("a refused commit throws naming the partition and commits nothing; the retry commits")
    func commitErrorsAreThrown() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("commit-errors")
        try await cluster.createTopic(topic, partitions: 1)
        try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: (0..<6).map { .init(topic: topic, key: "k", value: "v\($0)") })
        let group = uniqueName("group")
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let first = try KafkaConsumer(options: consumerOptions(cluster, group: group), logger: logger)
        try await first.subscribe(topics: [topic])
        _ = try await consume(first, count: 6)
        try await first.commit([partition: 2])

        try await cluster.pushRequestErrors(api: "OffsetCommit", ["OFFSET_METADATA_TOO_LARGE"])
        let error = await #expect(throws: KafkaError.self) { try await first.commit([partition: 4]) }
        #expect(error?.code == .commitFailed)
        #expect(error?.name == "OFFSET_METADATA_TOO_LARGE")
        #expect(error?.topic == topic)
        #expect(error?.partition == 0)
        await first.close()

        // The refused commit left offset 2: a new member starts there.
        let second = try KafkaConsumer(options: consumerOptions(cluster, group: group), logger: logger)
        try await second.subscribe(topics: [topic])
        let resumed = try await consume(second, count: 4)
        #expect(resumed.first?.offset == 2)
        try await second.commit([partition: 4])
        await second.close()

        let third = try KafkaConsumer(options: consumerOptions(cluster, group: group), logger: logger)
        try await third.subscribe(topics: [topic])
        let last = try await consume(third, count: 2)
        await third.close()
        #expect(last.map(\.offset) == [4, 5])
    }

    /// The mock coordinator completes any rebalance of a running group after the session timeout less 1 s (10 s
    /// here): a member that leaves is replaced after about 9 s + a heartbeat; one that vanished without leaving is
    /// noticed only when its session expires (10 s), and the rebalance then takes 9 s more (19 s).
    @Test("close() leaves the group: the other member gets every partition without waiting for a session to expire")
    func closeLeavesTheGroup() async throws {
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        let topic = uniqueName("leave")
        try await cluster.createTopic(topic, partitions: 4)
        let group = uniqueName("group")
        let options = consumerOptions(cluster, group: group, sessionTimeout: .seconds(10))
        let first = try KafkaConsumer(options: options, logger: logger)
        let second = try KafkaConsumer(options: options, logger: logger)
        try await first.subscribe(topics: [topic])
        try await second.subscribe(topics: [topic])
        _ = try await pollUntil([first, second], within: 90, "both members assigned") {
            let a = await first.assignment()
            let b = await second.assignment()
            return !a.isEmpty && !b.isEmpty && a.count + b.count == 4
        }
        let closing = ContinuousClock.now
        await first.close()
        _ = try await pollUntil([second], within: 15, "the remaining member assigned all 4 partitions (a vanished member: 19 s)") {
            await second.assignment().count == 4
        }
        let elapsed = ContinuousClock.now - closing
        #expect(elapsed < .seconds(15), "took \(elapsed)")
        #expect(await first.assignment().isEmpty, "a closed consumer has no assignment")
        await first.close()
        await second.close()
    }

    @Test("invalid options and librdkafka properties are refused naming the property, never echoing its value")
    func invalidOptionsAreNamed() throws {
        let brokers = ["127.0.0.1:9"]
        // The accepted ones try to reach a broker that is not there: not worth a log line.
        var quiet = logger
        quiet.logLevel = .critical
        func refusal(_ options: KafkaConsumerOptions) -> KafkaError? {
            do {
                _ = try KafkaConsumer(options: options, logger: quiet)
                return nil
            } catch {
                return error
            }
        }
        let unknown = refusal(KafkaConsumerOptions(brokers: brokers, extra: ["no.such.property": "1"]))
        #expect(unknown?.code == .unknownProperty)
        #expect(unknown?.property == "no.such.property")
        #expect(unknown?.description.contains("no.such.property") == true)

        let badValue = refusal(KafkaConsumerOptions(brokers: brokers, extra: ["socket.timeout.ms": "s3cr3t-value"]))
        #expect(badValue?.code == .invalidProperty)
        #expect(badValue?.property == "socket.timeout.ms")
        #expect(badValue?.description.contains("s3cr3t-value") == false)

        let managed = refusal(KafkaConsumerOptions(brokers: brokers, extra: ["enable.auto.commit": "true"]))
        #expect(managed?.property == "enable.auto.commit")

        #expect(refusal(KafkaConsumerOptions(brokers: [])).map(\.property) == "brokers")
        #expect(refusal(KafkaConsumerOptions(brokers: ["no-port"])).map(\.property) == "brokers")
        #expect(refusal(KafkaConsumerOptions(brokers: ["host:0"])).map(\.property) == "brokers")
        #expect(refusal(KafkaConsumerOptions(brokers: ["host:65535"])) == nil)
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, groupID: "")).map(\.property) == "groupID")
        // Each range on both sides of its bounds.
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, maxBatch: 0)).map(\.property) == "maxBatch")
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, maxBatch: 1)) == nil)
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, maxBatch: 100_000)) == nil)
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, maxBatch: 100_001)).map(\.property) == "maxBatch")
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, pollTimeout: .zero)).map(\.property) == "pollTimeout")
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, pollTimeout: .milliseconds(1))) == nil)
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, pollTimeout: .seconds(61))).map(\.property) == "pollTimeout")
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, sessionTimeout: .milliseconds(999))).map(\.property) == "sessionTimeout")
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, sessionTimeout: .seconds(1))) == nil)
        #expect(refusal(KafkaConsumerOptions(brokers: brokers, sessionTimeout: .seconds(3601))).map(\.property) == "sessionTimeout")
    }
}
