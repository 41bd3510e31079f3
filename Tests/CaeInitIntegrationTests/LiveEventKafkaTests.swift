import CaeInitCore
import CaeInitKafka
import CaeInitPostgres
import CaeInitSinkService
import CaeInitSinks
import CaeInitStore
import CaeInitTestSupport
import Foundation
import Logging
import Testing

/// The Sink Service under test: a `cae-init sink-service` process consuming from the mock cluster (its consumer
/// loop, the delivery, the hand-off drainer, the topic listener), stopped with SIGTERM.
final class RunningLiveService: @unchecked Sendable {
    let process: ChildProcess
    private let lock = NSLock()
    /// Set by the first `stop`: the process is signalled and reaped once.
    private var stopping: Task<Int32?, Never>?

    init(world: LiveWorld, bootstrap: String, group: String = "g-\(UInt32.random(in: 0...UInt32.max))") throws {
        process = try CLI.start([
            "sink-service", "--brokers", bootstrap, "--group", group, "--poll-timeout-ms", "200", "--retry-delay-ms", "200",
        ], database: world.database)
    }

    /// Stops it gracefully (SIGTERM, then SIGKILL after 30 s); its exit status, nil when it had to be killed.
    /// Idempotent: later calls return the first one's answer.
    @discardableResult
    func stop() async -> Int32? {
        let process = self.process
        let task = lock.withLock {
            if let stopping { return stopping }
            let task = Task { () -> Int32? in
                process.signal(SIGTERM)
                if let status = await process.waitForExit(within: 30) { return status }
                process.signal(SIGKILL)
                _ = await process.waitForExit()
                return nil
            }
            stopping = task
            return task
        }
        return await task.value
    }
}

/// Polls `condition` every 200 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 60, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return try await condition()
}

extension KafkaTestProducer.Message {
    /// The message of an object version, as the partner's producer sends it.
    static func version(_ version: ObjectVersion, key: String, topic: String = liveTopic, extra: [(String, JSONValue)] = []) -> Self {
        var document = DossierDocument.build(entiteId: key, version: version)
        for (name, value) in extra { document[name] = value }
        return Self(topic: topic, key: key, value: JSONValue.object(document).serialized(), headers: ["kind": version.kind.rawValue])
    }
}

/// Issue 10's routing through Kafka: librdkafka's mock cluster, events produced by a separate process (PyPI
/// confluent-kafka), consumed by the `cae-init sink-service` process.
@Suite("Live events through Kafka: routing", .serialized)
struct LiveEventKafkaTests {
    @Test("ready / new / pending / failed keys, suspended subscriptions, topics, filters, folderName, a Local Directory and moto's S3 on one key")
    func routing() async throws {
        let world = try await LiveWorld.make("live_kafka")
        defer { Task { await world.finish() } }
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        try await cluster.createTopic(liveTopic, partitions: 3)
        try await cluster.createTopic("queuing.cpa.other", partitions: 1)
        let bucket = try await LiveBucket.start()
        defer { bucket.stop() }

        let (ready, new, pending, failed) = (newUUID(), newUUID(), newUUID(), newUUID())
        let all = try await world.subscribe(liveLocalBody(path: world.directory.file("all"), keys: [ready, new, pending, failed]))
        let filtered = try await world.subscribe(liveLocalBody(path: world.directory.file("filtered"), keys: [ready], filters: #"{"code":"OD3"}"#))
        let suspended = try await world.subscribe(liveLocalBody(path: world.directory.file("suspended"), keys: [ready], suspended: true))
        let folder = try await world.subscribe(liveLocalBody(path: world.directory.file("folder"), keys: [ready], folderName: "societe"))
        let s3 = try await world.subscribe(bucket.subscriptionBody(keys: [ready]))
        for id in [all, filtered, suspended, folder, s3] { try await world.setStatus(id, ready, .ready) }
        try await world.setStatus(all, pending, .pending)
        try await world.setStatus(all, failed, .failed)

        let service = try RunningLiveService(world: world, bootstrap: cluster.bootstrap)
        defer { Task { await service.stop() } }
        let journal = newUUID()
        let v1 = journalVersion(journal, validFrom: 100, code: "OD3")
        let v2 = journalVersion(journal, validFrom: 200, code: "OD4")
        _ = try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: [
            .version(v1, key: ready, extra: [("societe", "ACME")]),
            .version(v2, key: ready, extra: [("societe", "..")]),
            .version(journalVersion(newUUID(), validFrom: 1), key: ready, topic: "queuing.cpa.other"),
            .version(journalVersion(newUUID(), validFrom: 2), key: new),
            .version(journalVersion(newUUID(), validFrom: 3), key: pending),
            .version(journalVersion(newUUID(), validFrom: 4), key: failed),
            .init(topic: liveTopic, key: nil, value: "{}"),
        ])
        let name1 = "\(ready)/journal/\(journal)_100.json"
        let name2 = "\(ready)/journal/\(journal)_200.json"
        let reader = try bucket.reader()
        let arrived = try await eventually {
            guard world.files("all").count == 2, world.files("filtered").count == 1, world.files("folder").count == 1 else { return false }
            let keptNew = try await world.keptCount(all, new)
            let keptPending = try await world.keptCount(all, pending)
            let letters = try await world.deadLetters(folder)
            let first = try? await reader.get(name1)
            let second = try? await reader.get(name2)
            return keptNew == 1 && keptPending == 1 && letters.count == 1 && first != nil && second != nil
        }
        #expect(arrived, "all: \(world.files("all").keys.sorted()) filtered: \(world.files("filtered").keys.sorted())")
        #expect(Set(world.files("all").keys) == [name1, name2])
        #expect(Set(world.files("filtered").keys) == [name1])
        #expect(world.files("suspended").isEmpty)
        #expect(Set(world.files("folder").keys) == ["ACME/journal/\(journal)_100.json"])
        #expect(try await world.deadLetters(folder).first?.reason == "folderName property 'societe' is '..'")
        #expect(try await world.keptCount(all, failed) == 0)
        #expect(try await reader.get(name1) == world.files("all")[name1])
        #expect(try await reader.get(name2) == world.files("all")[name2])

        // The new key becomes ready: its kept event is replayed by the hand-off drain, with no new message.
        try await world.setStatus(all, new, .ready)
        #expect(try await eventually { world.files("all").count == 3 })
        #expect(try await eventually { try await world.keptCount(all, new) == 0 })
        #expect(await service.stop() == 0, "\(service.process.standardError.suffix(3000))")
    }

    @Test("a refusing sink (wrong S3 key) dead-letters its messages while another subscription on the topic keeps receiving; dead-letters retry after the fix delivers them")
    func refusingSink() async throws {
        let world = try await LiveWorld.make("live_kafka_refusing")
        defer { Task { await world.finish() } }
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        try await cluster.createTopic(liveTopic, partitions: 2)
        let bucket = try await LiveBucket.start()
        defer { bucket.stop() }
        let key = newUUID()
        let wrongSecret = LiveWorld.wrongSecret
        let (local, s3) = try await world.localAndRefusingS3(key, bucket: bucket)

        let service = try RunningLiveService(world: world, bootstrap: cluster.bootstrap)
        defer { Task { await service.stop() } }
        let journal = newUUID()
        var versions: [ObjectVersion] = []
        for n in 0..<4 {
            let validFrom = Int64(100 + n)
            versions.append(journalVersion(journal, validFrom: validFrom, validTo: n < 3 ? validFrom + 1 : 0))
        }
        let messages: [KafkaTestProducer.Message] = versions.map { KafkaTestProducer.Message.version($0, key: key) }
        _ = try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: messages)
        let names = versions.map { "\(key)/journal/\(journal)_\($0.validFrom).json" }
        let settled = try await eventually {
            guard world.files("out").count == 4 else { return false }
            return try await world.deadLetters(s3).count == 4
        }
        #expect(settled, "\(world.files("out").keys.sorted())")
        #expect(Set(world.files("out").keys) == Set(names))
        let letters = try await world.deadLetters(s3)
        #expect(letters.allSatisfy { $0.reason.contains("SignatureDoesNotMatch") && !$0.reason.contains(wrongSecret) })
        #expect(!service.process.standardError.contains(wrongSecret))

        _ = try await sql("UPDATE cae_subscription SET sink = jsonb_set(sink, '{credentials,secretAccessKey}', to_jsonb($2::text)) WHERE id = $1", [s3, bucket.secret], database: world.database)
        let retry = try await CLI.run(["dead-letters", "retry", "--subscription", s3], database: world.database)
        #expect(retry.status == 0, "\(retry.stdout) \(retry.stderr)")
        #expect(try await world.deadLetters().isEmpty)
        let reader = try bucket.reader()
        for name in names {
            #expect(try await reader.get(name) == world.files("out")[name], "\(name)")
        }
        // The service's next message reaches S3 too: its sink is made again from the fixed subscription.
        let next = journalVersion(journal, validFrom: 200)
        _ = try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: [.version(next, key: key)])
        let nextName = "\(key)/journal/\(journal)_200.json"
        // Both sinks have it once the message is delivered (the subscriptions are written one after the other).
        #expect(try await eventually {
            guard world.files("out")[nextName] != nil else { return false }
            return (try? await reader.get(nextName)) != nil
        })
        #expect(try await reader.get(nextName) == world.files("out")[nextName])
        #expect(await service.stop() == 0, "\(service.process.standardError.suffix(3000))")
    }
}
