import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 2: from a subscription in PostgreSQL to the right files on disk, through the CLI, for real.
@Suite("End to end through the CLI", .serialized)
struct EndToEndTests {
    static let historyEntite = "7e9030b3-40e9-4726-8d8c-9bfbadc59844"
    static let simpleEntite = "3b7c6a52-9f1e-4d2a-8c3b-5e6f7a8b9c0d"
    static var fixtures: [String] { ["dossier-history.json", "dossier-simple.json"].map(fixturePath) }

    @Test("migrate is idempotent, fixtures load, run-once writes exactly the expected files and marks ready")
    func fixturesEndToEnd() async throws {
        let database = try await TestDatabase.create("e2e")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        #expect(try await CLI.succeed(["migrate"], database: database).contains("up to date"))
        try await CLI.succeed(["fixtures", "load"] + Self.fixtures, database: database)
        // Loading again replaces, it does not duplicate.
        try await CLI.succeed(["fixtures", "load"] + Self.fixtures, database: database)
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: [Self.historyEntite, Self.simpleEntite], initWithHistory: true), database: database, in: directory)

        let run = try await CLI.run(["run-once"], database: database)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("run-once: 2 ready, 0 failed"))

        let files = directory.files(under: "out")
        let dossierFiles = files.filter { !$0.key.hasPrefix("_manifests/") }
        let e = Self.historyEntite
        // The exact files are the golden cases' (Fixtures/cases/fixture-history, fixture-simple).
        for (entite, name) in [(e, "fixture-history"), (Self.simpleEntite, "fixture-simple")] {
            let expected = GoldenCaseIntegrationTests.readTree(fixturePath("cases/\(name)/expected"))
            let differences = FileComparison.differences(expected: expected, actual: dossierFiles.filter { $0.key.hasPrefix(entite) })
            #expect(!expected.isEmpty && differences.isEmpty, "\(differences.map(\.description))")
        }

        // The manifest, last, with the counts.
        let manifest = try JSONValue.parse(String(decoding: try #require(files["_manifests/\(id)/\(e).json"]), as: UTF8.self))
        #expect(manifest["subscriptionId"]?.stringValue == id)
        #expect(manifest["initWithHistory"] == .bool(true))
        #expect(manifest["periods"]?.arrayValue?.count == 3)
        #expect(manifest["counts"]?.serialized() == #"{"journal":{"snapshot":2,"history":2},"compte":{"snapshot":3,"history":1},"ecriture":{"snapshot":3,"history":1}}"#)
        #expect(manifest["objects"] == .number("12"))

        // The filters' state.
        let states = try await filterStates(id, database: database)
        for key in [Self.historyEntite, Self.simpleEntite] {
            let state = try #require(states[key])
            #expect(state.status == "ready")
            #expect(state.message == "success")
            #expect(state.report?["status"]?.stringValue == "processed")
            #expect(state.report?["locked"] == .bool(false))
            let date = try #require(state.report?["processedDate"]?.stringValue)
            #expect(date.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(date)")
        }
        #expect(states[Self.historyEntite]?.report?["objects"] == .number("12"))

        // Re-initialisation on demand writes the same names with the same contents.
        try await CLI.succeed(["key-filters", "reset", "--subscription", id, Self.historyEntite], database: database)
        #expect(try await filterStates(id, database: database)[Self.historyEntite]?.status == "new")
        try FileManager.default.removeItem(atPath: directory.file("out/\(e)"))
        try await CLI.succeed(["run-once"], database: database)
        let again = directory.files(under: "out").filter { !$0.key.hasPrefix("_manifests/") }
        #expect(again == dossierFiles)
    }

    @Test("randomised dossiers match an independent computation of SPEC §4, file for file and value for value", arguments: [false, true])
    func randomisedDossiers(withHistory: Bool) async throws {
        let database = try await TestDatabase.create("rand")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let dossiers = (0..<60).map { RandomDossier(seed: UInt64(1000 + $0)) }
        let files = try dossiers.enumerated().map { index, dossier in try directory.write("fixtures/\(index).json", dossier.fixtureJSON) }
        try await CLI.succeed(["fixtures", "load"] + files, database: database)
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: dossiers.map(\.entiteId), initWithHistory: withHistory), database: database, in: directory)
        let run = try await CLI.run(["run-once", "--concurrency", "4"], database: database)
        #expect(run.status == 0, "\(run.stderr)")

        let written = directory.files(under: "out")
        var expected: [String: JSONValue] = [:]
        for dossier in dossiers { expected.merge(dossier.expectedFiles(withHistory: withHistory)) { $1 } }
        let documents = written.filter { !$0.key.hasPrefix("_manifests/") }
        #expect(Set(documents.keys) == Set(expected.keys), "missing: \(Set(expected.keys).subtracting(documents.keys).sorted().prefix(5)), unexpected: \(Set(documents.keys).subtracting(expected.keys).sorted().prefix(5))")
        var mismatches: [String] = []
        for (name, bytes) in documents {
            guard let want = expected[name] else { continue }
            let got = try JSONValue.parse(bytes: bytes)
            if !got.isJSONEqual(to: want) || got.serialized() != got.serialized() { mismatches.append("\(name): \(got.serialized()) ≠ \(want.serialized())") }
            // Decimals keep their literal text exactly.
            for ligne in want["lignes"]?.arrayValue ?? [] {
                for amount in ["debit", "credit"] {
                    if case .number(let literal) = ligne[amount] ?? .null {
                        #expect(String(decoding: bytes, as: UTF8.self).contains("\"\(amount)\":\(literal)"))
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
        for dossier in dossiers {
            #expect(written["_manifests/\(id)/\(dossier.entiteId).json"] != nil)
        }
        #expect(try await filterStates(id, database: database).values.allSatisfy { $0.status == "ready" })
    }

    @Test("a folderName property missing from the documents fails the filter, naming the property, and writes no manifest")
    func missingFolderNameProperty() async throws {
        let database = try await TestDatabase.create("folder")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load"] + Self.fixtures, database: database)
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: [Self.simpleEntite], initWithHistory: false, folderName: "societe"), database: database, in: directory)
        let run = try await CLI.run(["run-once"], database: database)
        #expect(run.status == 1)
        #expect(run.stderr.contains("failed \(id)/\(Self.simpleEntite): folderName property 'societe' is missing in journal b3000000-0000-4000-8000-000000000001"), "\(run.stderr)")
        let state = try #require(try await filterStates(id, database: database)[Self.simpleEntite])
        #expect(state.status == "failed")
        #expect(state.message?.contains("folderName property 'societe' is missing") == true)
        #expect(state.report?["status"]?.stringValue == "failed")
        #expect(state.report?["locked"] == .bool(false))
        #expect(directory.files(under: "out").keys.filter { $0.hasPrefix("_manifests/") }.isEmpty)
    }

    @Test("a stored subscription with an unknown sink type fails its filters before anything is written")
    func unknownSinkTypeFailsTheFilter() async throws {
        let database = try await TestDatabase.create("sinktype")
        try await CLI.succeed(["fixtures", "load"] + Self.fixtures, database: database)
        // The CLI refuses such a body: the row comes from elsewhere (another client of the store).
        try await sql("INSERT INTO cae_subscription (id, domain, sink) VALUES ('aaaaaaaaaaaaaaaaaaaaaaaa', 'd', '{\"type\":\"FTP\",\"options\":{\"path\":\"/tmp/x\"}}')", database: database)
        try await sql("INSERT INTO cae_key_filter (subscription_id, key, position) VALUES ('aaaaaaaaaaaaaaaaaaaaaaaa', $1, 1)", [Self.simpleEntite], database: database)
        let run = try await CLI.run(["run-once"], database: database)
        #expect(run.status == 1)
        let state = try #require(try await filterStates("aaaaaaaaaaaaaaaaaaaaaaaa", database: database)[Self.simpleEntite])
        #expect(state.status == "failed")
        #expect(state.message?.contains(#"sink.type: "FTP" is not a supported sink type"#) == true, "\(state.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/x/\(Self.simpleEntite)"))
    }

    @Test("a dossier with broken history fails its filter with a reason naming the object")
    func brokenHistoryFailsTheFilter() async throws {
        let database = try await TestDatabase.create("broken")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load"] + Self.fixtures, database: database)
        // An overlapping history row, as only a faulty upstream could write it.
        try await sql("""
            INSERT INTO cae_compte_history (entite_id, id, application_id, numero, libelle, type, lettrable, ferme, valid_from, valid_to)
            VALUES ($1, 'b3000000-0000-4000-8000-000000000003', NULL, '401100', 'x', 4, true, false, 1704067200001, 1735000000001)
            """, [Self.simpleEntite], database: database)
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: [Self.simpleEntite], initWithHistory: true), database: database, in: directory)
        let run = try await CLI.run(["run-once"], database: database)
        #expect(run.status == 1)
        let message = try #require(try await filterStates(id, database: database)[Self.simpleEntite]?.message)
        #expect(message.contains("broken history: compte b3000000-0000-4000-8000-000000000003 has overlapping versions"), "\(message)")
    }

    @Test("malformed input is refused naming the line or field, and nothing is stored")
    func malformedInputIsRefused() async throws {
        let database = try await TestDatabase.create("bad")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let broken = try directory.write("broken.json", "{\"entite_id\": \"\(Self.historyEntite)\",\n  \"journals\": [\n    {\"id\": \"x\",, }\n  ]\n}\n")
        let load = try await CLI.run(["fixtures", "load", Self.fixtures[1], broken], database: database)
        #expect(load.status == 1)
        #expect(load.stderr.contains("broken.json: not valid JSON: line 3, column 16: expected a string key"), "\(load.stderr)")
        #expect(try await sql("SELECT count(*) FROM cae_journal", database: database).scalar() == "0")

        let badField = try directory.write("badfield.json", #"{"entite_id":"\#(Self.historyEntite)","comptes":[{"id":"c1000000-0000-4000-8000-000000000001","application_id":null,"numero":"1","libelle":"x","type":"deux","lettrable":true,"ferme":false,"compteCollectif_id":null,"validFrom":0,"validTo":0}]}"#)
        let field = try await CLI.run(["fixtures", "load", badField], database: database)
        #expect(field.status == 1)
        #expect(field.stderr.contains("comptes[0].type: expected an integer, found a string"), "\(field.stderr)")

        let subscription = try directory.write("sub.json", #"{"domain":"d","sink":{"type":"SFTP","credentials":{},"options":{"path":"/tmp"}}}"#)
        let create = try await CLI.run(["subscriptions", "create", "--file", subscription], database: database)
        #expect(create.status == 1)
        #expect(create.stderr.contains(#"sink.type: "SFTP" is not a supported sink type"#), "\(create.stderr)")
        let missingKey = try directory.write("sub2.json", #"{"domain":"d","keyFilters":[{"status":"new"}],"sink":{"type":"Local Directory","options":{"path":"/tmp"}}}"#)
        #expect(try await CLI.run(["subscriptions", "create", "--file", missingKey], database: database).stderr.contains("keyFilters[0].key: is missing"))
        #expect(try await sql("SELECT count(*) FROM cae_subscription", database: database).scalar() == "0")

        let reset = try await CLI.run(["key-filters", "reset", "--subscription", "nosuch", Self.historyEntite], database: database)
        #expect(reset.status == 1)
        #expect(reset.stderr.contains("subscription nosuch has no key filter"))
    }

    @Test("an unreachable database is reported with the conninfo, never the password")
    func unreachableDatabase() async throws {
        let port = try ServerProcess.freePort()
        let result = try await CLI.run(["status"], database: "postgresql://cae:S3cretPassw0rd@127.0.0.1:\(port)/cae")
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot connect to the subscription store"), "\(result.stderr)")
        #expect(result.stderr.contains("port=\(port)"))
        #expect(result.stderr.contains("user=cae"))
        #expect(!result.stderr.contains("S3cretPassw0rd"))
        let missing = try await ChildProcess.run(try CLI.executable(), ["status"], environment: ["DATABASE_URL": ""])
        #expect(missing.stderr.contains("no database given: set DATABASE_URL or pass --database-url"))
    }

    @Test("subscriptions are shown with secrets masked, listed by domain, and filters added, reset and removed")
    func subscriptionCommands() async throws {
        let database = try await TestDatabase.create("subs")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let body = #"{"domain":"compta","keyFilters":[{"key":"\#(Self.simpleEntite)"}],"sink":{"type":"AWS S3","credentials":{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"wJalrXUtnFEMIK7MDENG","region":"eu-west-3","sessionToken":"SESSIONTOKENVALUE"},"options":{"bucketName":"b"}}}"#
        let file = try directory.write("s3.json", body)
        let created = try await CLI.succeed(["subscriptions", "create", "--file", file], database: database)
        #expect(created.contains(#""secretAccessKey": "wJa*****************""#))
        #expect(created.contains(#""sessionToken": "SES**************""#))
        #expect(!created.contains("wJalrXUtnFEMIK7MDENG") && !created.contains("SESSIONTOKENVALUE"))
        let id = try #require(try JSONValue.parse(created)["id"]?.stringValue)
        #expect(id.wholeMatch(of: /[0-9a-f]{24}/) != nil)
        _ = try await createSubscription(localSubscription(path: "/tmp/other", keys: [], initWithHistory: false, domain: "other"), database: database, in: directory)
        let listed = try JSONValue.parse(try await CLI.succeed(["subscriptions", "list", "--domain", "compta"], database: database))
        #expect(listed.arrayValue?.count == 1)
        #expect(listed.arrayValue?.first?["id"]?.stringValue == id)
        #expect(!(try await CLI.succeed(["subscriptions", "list"], database: database)).contains("wJalrXUtnFEMIK7MDENG"))

        let added = try await CLI.succeed(["key-filters", "add", "--subscription", id, Self.historyEntite.uppercased(), Self.simpleEntite], database: database)
        #expect(added.contains("added 1 key filter(s)") && added.contains("1 already listed"))
        var states = try await filterStates(id, database: database)
        #expect(states.keys.sorted() == [Self.simpleEntite, Self.historyEntite].sorted())
        #expect(states.values.allSatisfy { $0.status == "new" })
        try await CLI.succeed(["key-filters", "remove", "--subscription", id, Self.simpleEntite], database: database)
        states = try await filterStates(id, database: database)
        #expect(states.keys.sorted() == [Self.historyEntite])
        let status = try await CLI.succeed(["status"], database: database)
        #expect(status.contains("new      1"))
    }
}
