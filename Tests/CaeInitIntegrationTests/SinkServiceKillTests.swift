import AsyncHTTPClient
import CaeInitCore
import CaeInitTestSupport
import Foundation
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, the `cae-init sink-service` process: killed with SIGKILL while it consumes, then restarted (at least
/// once, with names that make the redelivery harmless); a subscription created while it runs.
@Suite("Sink Service process", .serialized)
struct SinkServiceKillTests {
    static let topic = "queuing.cpa.comptabilite"
    static let keys = ["7e9030b3-40e9-4726-8d8c-9bfbadc59844", "3b7c6a52-9f1e-4d2a-8c3b-5e6f7a8b9c0d"]

    /// 2 ready keys; per key 100 journals changed 8 times each (always the same version name: the last event's
    /// content must win) and 400 plain events (one name each), interleaved: 2400 messages.
    static func messages() -> [KafkaTestProducer.Message] {
        var messages: [KafkaTestProducer.Message] = []
        for round in 0..<8 {
            for (k, key) in keys.enumerated() {
                for journal in 0..<100 {
                    let id = String(format: "d%07d-0000-4000-8000-%012d", k, journal)
                    let document = #"{"id":"\#(id)","code":"J\#(journal)","libelle":"revision \#(round)","validFrom":1760000000000,"validTo":0,"entite_id":"\#(key)","timestamp":1760000000000}"#
                    messages.append(.init(topic: topic, key: key, value: document, headers: ["kind": "journal"]))
                    if journal % 2 == 0 {
                        messages.append(.init(topic: topic, key: key, value: #"{"entite_id":"\#(key)","round":\#(round),"n":\#(journal)}"#))
                    }
                }
            }
        }
        return messages
    }

    func startService(_ cluster: KafkaTestCluster, database: String, group: String) throws -> ChildProcess {
        try CLI.start(
            ["sink-service", "--brokers", cluster.bootstrap, "--group", group, "--session-timeout-seconds", "6", "--topic-refresh-seconds", "1", "--max-batch", "50"],
            database: database
        )
    }

    @Test("SIGKILL while consuming, restart: every message's object is in the sink, none missing, each with its last event's content")
    func killedWhileConsuming() async throws {
        let database = try await TestDatabase.create("killsink")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-history.json"), fixturePath("dossier-simple.json")], database: database)
        _ = try await createSubscription(localSubscription(path: directory.file("out"), keys: Self.keys, initWithHistory: false), database: database, in: directory)
        #expect(try await CLI.succeed(["run-once"], database: database).contains("2 ready, 0 failed"))

        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        try await cluster.createTopic(Self.topic, partitions: 3)
        let messages = Self.messages()
        let produced = try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: messages)

        // What the sink must hold in the end: each plain event under its partition and offset; each journal
        // version with its last event's content.
        var expected: [String: JSONValue] = [:]
        for (message, landed) in zip(messages, produced) {
            let value = try JSONValue.parse(message.value!)
            let key = message.key!
            if message.headers["kind"] == "journal" {
                expected["\(key)/journal/\(try value.string("id"))_1760000000000.json"] = value
            } else {
                expected["\(key)/\(Self.topic)/\(landed.partition)-\(String(format: "%020lld", landed.offset)).json"] = value
            }
        }
        #expect(expected.count == 2 * (100 + 400))
        func landedNames() -> Set<String> { Set(directory.files(under: "out").keys).intersection(expected.keys) }

        let group = "kill-test"
        let first = try startService(cluster, database: database, group: group)
        let deadline = Date().addingTimeInterval(120)
        while landedNames().count < 150 {
            guard Date() < deadline else { throw TestFailure("the service wrote \(landedNames().count) files in 120 s: \(first.standardError.suffix(3000))") }
            try await Task.sleep(for: .milliseconds(20))
        }
        first.signal(SIGKILL)
        #expect(await first.waitForExit() == 128 + SIGKILL)
        let atKill = landedNames().count
        #expect(atKill < expected.count, "killed while consuming: \(atKill) of \(expected.count) names written")

        let second = try startService(cluster, database: database, group: group)
        func settled() -> Bool {
            let files = directory.files(under: "out")
            return expected.allSatisfy { name, value in files[name].flatMap { try? JSONValue.parse(String(decoding: $0, as: UTF8.self)) } == value }
        }
        let restartDeadline = Date().addingTimeInterval(180)
        while !settled() {
            guard Date() < restartDeadline else { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        second.signal(SIGTERM)
        let status = await second.waitForExit(within: 60)
        #expect(status == 0, "graceful exit: \(second.standardError.suffix(3000))")

        let files = directory.files(under: "out")
        let missing = expected.keys.filter { files[$0] == nil }.sorted()
        #expect(missing.isEmpty, "\(missing.count) missing, e.g. \(missing.prefix(5))")
        let stale = expected.filter { name, value in
            files[name].map { (try? JSONValue.parse(String(decoding: $0, as: UTF8.self))) != value } ?? false
        }.keys.sorted()
        #expect(stale.isEmpty, "\(stale.count) not at their last event's content, e.g. \(stale.prefix(5))")
        // Nothing else under the live events' folders (no stray name), and the initialisation's files untouched.
        let liveNames = files.keys.filter { $0.contains("/\(Self.topic)/") || $0.contains("/journal/d") }
        #expect(Set(liveNames) == Set(expected.keys))
    }

    @Test("a subscription created while the service runs is consumed without a restart (NOTIFY, the refresh interval far away)")
    func subscriptionCreatedWhileRunning() async throws {
        let database = try await TestDatabase.create("livesub")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-simple.json")], database: database)
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        try await cluster.createTopic(Self.topic, partitions: 1)
        let metricsPort = try ServerProcess.freePort()
        let service = try CLI.start(
            ["sink-service", "--brokers", cluster.bootstrap, "--group", "late", "--session-timeout-seconds", "6", "--topic-refresh-seconds", "3600",
             "--metrics-port", "\(metricsPort)", "--metrics-host", "127.0.0.1"],
            database: database
        )
        // No subscription yet: the service has read an empty topic set, and reads it again only when notified.
        let started = Date().addingTimeInterval(30)
        while !service.standardError.contains("subscribed"), Date() < started { try await Task.sleep(for: .milliseconds(100)) }
        #expect(service.standardError.contains("topics= "), "subscribed to nothing first: \(service.standardError.suffix(2000))")
        _ = try await createSubscription(localSubscription(path: directory.file("out"), keys: [Self.keys[1]], initWithHistory: false), database: database, in: directory)
        try await CLI.succeed(["run-once"], database: database)
        let produced = try await KafkaTestProducer.produce(bootstrap: cluster.bootstrap, messages: [
            .init(topic: Self.topic, key: Self.keys[1], value: #"{"entite_id":"\#(Self.keys[1])","event":"late"}"#),
        ])
        let name = "\(Self.keys[1])/\(Self.topic)/0-\(String(format: "%020lld", produced[0].offset)).json"
        let deadline = Date().addingTimeInterval(40)
        while directory.files(under: "out")[name] == nil, Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        // The loop's metrics on the process's /metrics, with the delivery's. The file lands before `deliver` returns
        // (a Local Directory is flushed first) and the lag is sampled between polls, so they are read until both show.
        var metrics = ""
        let metricsDeadline = Date().addingTimeInterval(30)
        repeat {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(metricsPort)/metrics"), timeout: .seconds(5))
            metrics = String(buffer: try await response.body.collect(upTo: 1 << 20))
            if metrics.contains("cae_sink_service_messages_delivered_total 1\n"),
               metrics.contains(#"cae_sink_service_consumer_lag{topic="\#(Self.topic)",partition="0"} 0"#) { break }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < metricsDeadline
        #expect(metrics.contains("cae_sink_service_messages_delivered_total 1\n"), "\(metrics)")
        #expect(metrics.contains("cae_sink_service_delivery_failures_total 0\n"))
        #expect(metrics.contains(#"cae_sink_service_consumer_lag{topic="\#(Self.topic)",partition="0"} 0"#))
        #expect(metrics.contains("cae_sink_events_written_total"))

        service.signal(SIGTERM)
        let status = await service.waitForExit(within: 60)
        #expect(directory.files(under: "out")[name] != nil, "the event was written: \(service.standardError.suffix(3000))")
        #expect(status == 0)
    }

    @Test("bad options are refused naming the option, never echoing a property's value")
    func badOptionsAreNamed() async throws {
        let database = try await TestDatabase.create("sinkopts")
        func refusal(_ arguments: [String]) async throws -> String {
            let result = try await CLI.run(["sink-service"] + arguments, database: database)
            #expect(result.status != 0, "\(arguments) accepted")
            return result.stderr
        }
        #expect(try await refusal([]).contains("--brokers"))
        #expect(try await refusal(["--brokers", "127.0.0.1"]).contains("--brokers"))
        #expect(try await refusal(["--brokers", "127.0.0.1:9", "--max-batch", "0"]).contains("--max-batch"))
        #expect(try await refusal(["--brokers", "127.0.0.1:9", "--partition-concurrency", "257"]).contains("--partition-concurrency"))
        #expect(try await refusal(["--brokers", "127.0.0.1:9", "--kafka-property", "enable.auto.commit=true"]).contains("enable.auto.commit"))
        let unknown = try await refusal(["--brokers", "127.0.0.1:9", "--kafka-property", "no.such.property=1"])
        #expect(unknown.contains("no.such.property"))
        let invalid = try await refusal(["--brokers", "127.0.0.1:9", "--kafka-property", "socket.timeout.ms=hunter2-secret"])
        #expect(invalid.contains("socket.timeout.ms"))
        #expect(!invalid.contains("hunter2-secret"))

        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("kafka.properties", "# comment\n\nsocket.timeout.ms = 1000\nsasl.password=hunter2-secret\nsession.timeout.ms\n")
        let malformed = try await refusal(["--brokers", "127.0.0.1:9", "--kafka-properties-file", file])
        #expect(malformed.contains("line 5"), "\(malformed)")
        #expect(!malformed.contains("hunter2-secret"))
        let fromFile = try directory.write("bad.properties", "fetch.wait.max.ms=hunter2-secret\n")
        let refusedFromFile = try await refusal(["--brokers", "127.0.0.1:9", "--kafka-properties-file", fromFile])
        #expect(refusedFromFile.contains("fetch.wait.max.ms"))
        #expect(!refusedFromFile.contains("hunter2-secret"))
    }
}
