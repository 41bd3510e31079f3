import CaeInitCore
import CaeInitPostgres
import CaeInitStore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 10's hand-off: a producer (a separate process) keeps changing one dossier in PostgreSQL and, after each
/// commit, produces the event of each changed version to Kafka, while that dossier is initialised (`run-once`, paced
/// so the two overlap) and the Sink Service consumes. When both are done and the service caught up, every current
/// version of the final database state is in the sink with its final content, and every file in the sink equals
/// that version's final state in the database (current or history): nothing lost, nothing stale.
@Suite("Hand-off: live events while the dossier is initialised", .serialized)
struct HandOffTests {
    static let topic = liveTopic

    /// A dossier of `count` objects of each kind, every one current, some with an earlier version in history.
    static func dossier(_ entite: String, count: Int) -> DossierFixture {
        var versions: [ObjectKind: [ObjectVersion]] = [:]
        let base: Int64 = 1_700_000_000_000
        for i in 0..<count {
            let n = Int64(i)
            let journal = newUUID()
            versions[.journal, default: []] += [
                ObjectVersion(kind: .journal, id: journal, validFrom: base + n, validTo: base + 1000 + n, fields: [
                    .string(liveApplicationId), .string("J\(i)"), .string("ancien \(i)"), .null, .number("1"), .number("2"), .bool(false),
                ]),
                ObjectVersion(kind: .journal, id: journal, validFrom: base + 1000 + n, validTo: 0, fields: [
                    .string(liveApplicationId), .string("J\(i)"), .string("Journal \(i)"), .null, .number("1"), .number("2"), .bool(false),
                ]),
            ]
            versions[.compte, default: []].append(ObjectVersion(kind: .compte, id: newUUID(), validFrom: base + n, validTo: 0, fields: [
                .string(liveApplicationId), .string("4\(10000 + i)"), .string("Compte \(i)"), .number("4"), .bool(true), .bool(false), .null,
            ]))
            let ligne = JSONValue.object(JSONObject([
                ("compte_id", .string(newUUID())), ("libelle", .string("ligne")), ("debit", .number("1234.50")), ("credit", .number("0")),
            ]))
            versions[.ecriture, default: []].append(ObjectVersion(kind: .ecriture, id: newUUID(), validFrom: base + n, validTo: 0, fields: [
                .string(liveApplicationId), .null, .number(String(base)), .string("P\(i)"), .string("Écriture \(i)"), .array([ligne]),
            ]))
        }
        return DossierFixture(entiteId: entite, periods: [], versions: versions)
    }

    /// Every version of the dossier in the database: `<kind>/<id>_<validFrom>` → (current?, document), from the
    /// producer script's `--dump` (the same query its events are built with).
    static func databaseVersions(database: String, entite: String) async throws -> [String: (current: Bool, document: JSONValue)] {
        let dump = try await ChildProcess.run("/usr/bin/env", ["python3", SupportFiles.path("handoff_producer.py"), "--database", database, "--entite", entite, "--dump"])
        guard dump.status == 0 else { throw TestFailure("dump failed: \(dump.stderr)") }
        var versions: [String: (current: Bool, document: JSONValue)] = [:]
        for line in dump.stdout.split(separator: "\n") {
            let entry = try JSONValue.parse(String(line))
            guard let name = entry["name"]?.stringValue, let current = entry["current"]?.boolValue, let text = entry["document"]?.stringValue else {
                throw TestFailure("unexpected dump line \(line)")
            }
            versions[name] = (current, try JSONValue.parse(text))
        }
        return versions
    }

    /// What differs between the sink and the database: current versions missing or not equal, files of no
    /// version or not equal to it. Empty when they agree.
    static func differences(sink: [String: [UInt8]], entite: String, database: [String: (current: Bool, document: JSONValue)]) -> [String] {
        var problems: [String] = []
        var files: [String: JSONValue] = [:]
        for (path, bytes) in sink where !path.hasPrefix("_manifests/") {
            guard path.hasPrefix("\(entite)/"), let document = try? JSONValue.parse(bytes: bytes) else {
                problems.append("unexpected file \(path)")
                continue
            }
            files[String(path.dropFirst(entite.count + 1).dropLast(".json".count))] = document
        }
        for (name, version) in database where version.current {
            guard let file = files[name] else { problems.append("current version \(name) missing"); continue }
            if !file.isJSONEqual(to: version.document) { problems.append("current version \(name) stale: \(file.serialized()) ≠ \(version.document.serialized())") }
        }
        for (name, file) in files {
            guard let version = database[name] else { problems.append("file \(name) is no version of the database"); continue }
            if !file.isJSONEqual(to: version.document) { problems.append("file \(name) ≠ its final state: \(file.serialized()) ≠ \(version.document.serialized())") }
        }
        return problems.sorted()
    }

    @Test("a producer keeps changing the dossier during its initialisation: in the end the sink agrees with the database, nothing lost, nothing stale")
    func handOff() async throws {
        let world = try await LiveWorld.make("handoff")
        defer { Task { await world.finish() } }
        let cluster = try await KafkaTestCluster()
        defer { cluster.stop() }
        try await cluster.createTopic(Self.topic, partitions: 3)
        let entite = newUUID()
        let connection = try await PostgresConnection.connect(world.database)
        try await DossierStore(connection: connection).load([Self.dossier(entite, count: 50)])
        await connection.close()
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [entite]))

        let service = try RunningLiveService(world: world, bootstrap: cluster.bootstrap)
        defer { Task { await service.stop() } }
        let producer = try ChildProcess(executable: "/usr/bin/env", arguments: [
            "python3", SupportFiles.path("handoff_producer.py"), "--database", world.database, "--bootstrap", cluster.bootstrap,
            "--topic", Self.topic, "--entite", entite, "--subscription", id, "--steps", "100", "--after-ready", "40", "--max-steps", "3000", "--pause-ms", "30", "--seed", "10",
        ])
        // A few changes while the filter is `new`, then the initialisation, paced so that it lasts several seconds.
        #expect(try await eventually(within: 60) { producer.standardOutput.split(separator: "\n").count >= 15 }, "\(producer.standardError)")
        let initialisation = try CLI.start(["run-once", "--max-writes-per-second", "25"], database: world.database)
        #expect(await initialisation.waitForExit() == 0, "\(initialisation.standardError)")
        #expect(await producer.waitForExit() == 0, "\(producer.standardError)")

        // The three phases happened: changes committed while the filter was new, pending and ready.
        let statuses = Set(producer.standardOutput.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) })
        #expect(statuses == ["new", "pending", "ready"], "\(statuses)")

        let final = try await Self.databaseVersions(database: world.database, entite: entite)
        var problems: [String] = []
        let agreed = try await eventually(within: 90) {
            problems = Self.differences(sink: world.files("out"), entite: entite, database: final)
            return problems.isEmpty
        }
        #expect(agreed, "\(problems.count) differences: \(problems.prefix(10).joined(separator: "\n"))")
        #expect(try await eventually(within: 30) { try await world.keptCount(id, entite) == 0 })
        #expect(try await world.deadLetters().isEmpty)
        // Versions ended during the test are in the sink too (the stream wrote them), with their ended content.
        let ended = final.filter { !$0.value.current && world.files("out")["\(entite)/\($0.key).json"] != nil }
        #expect(ended.count > 10, "\(ended.count)")
        #expect(await service.stop() == 0, "\(service.process.standardError.suffix(3000))")
    }
}
