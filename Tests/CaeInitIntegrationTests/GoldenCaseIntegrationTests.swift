import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 11: every case of `Fixtures/cases` through the real path — PostgreSQL, a subscription created with the
/// CLI, `cae-init run-once`, a Local Directory sink — and through `cae-init render`; both must give exactly
/// `expected/`. The core suite runs the same cases through the pure core.
@Suite("Golden cases through the real path", .serialized)
struct GoldenCaseIntegrationTests {
    static let names: [String] = {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: fixturePath("cases"))) ?? []
        return entries.filter { !$0.hasPrefix(".") }.sorted()
    }()

    @Test func discoveryFindsTheCases() {
        #expect(Self.names.count >= 18, "\(Self.names)")
    }

    @Test("run-once writes exactly expected/", arguments: names)
    func caseThroughTheWorker(name: String) async throws {
        let golden = try Self.load(name)
        let database = try await TestDatabase.create("golden")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("cases/\(name)/\(GoldenCase.dossierFile)")], database: database)
        let settings = golden.settings
        let body = localSubscription(
            path: directory.file("out"), keys: [golden.fixture.entiteId], initWithHistory: settings.initWithHistory,
            folderName: settings.folderName, filters: settings.filters.map { JSONValue.object($0).serialized() }
        )
        let id = try await createSubscription(body, database: database, in: directory)
        let run = try await CLI.run(["run-once"], database: database)
        let written = directory.files(under: "out")
        let outcome: GoldenCase.Outcome
        if run.status == 0 {
            #expect(run.stdout.contains("run-once: 1 ready, 0 failed"), "\(run.stdout)")
            outcome = .wrote(Self.documents(written))
        } else {
            let state = try #require(try await filterStates(id, database: database)[golden.fixture.entiteId])
            #expect(state.status == "failed", "\(run.stderr)")
            // A failed run writes no manifest.
            #expect(!written.keys.contains { $0.hasPrefix("_manifests/") })
            outcome = .failed(state.message ?? run.stderr)
        }
        let problems = golden.problems(with: outcome)
        #expect(problems.isEmpty, "\(name):\n\(problems.joined(separator: "\n"))")
    }

    @Test("cae-init render writes exactly expected/", arguments: names)
    func caseThroughRender(name: String) async throws {
        let golden = try Self.load(name)
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var arguments = ["render", fixturePath("cases/\(name)/\(GoldenCase.dossierFile)"), "--out", directory.file("out"), "--folder-name", golden.settings.folderName]
        if golden.settings.initWithHistory { arguments.append("--history") }
        if let filters = golden.settings.filters { arguments += ["--filters", JSONValue.object(filters).serialized()] }
        let result = try await CLI.run(arguments, database: "")
        let outcome: GoldenCase.Outcome
        if result.status == 0 {
            #expect(result.stdout.hasPrefix("wrote \(golden.expected.count) file(s) to \(directory.file("out"))"), "\(result.stdout)")
            outcome = .wrote(directory.files(under: "out"))
        } else {
            // A failing render writes nothing, not even the files before the bad document.
            #expect(directory.files(under: "out").isEmpty)
            outcome = .failed(result.stderr)
        }
        let problems = golden.problems(with: outcome)
        #expect(problems.isEmpty, "\(name):\n\(problems.joined(separator: "\n"))")
    }

    @Test func checkPassesEveryCaseAndNeedsNoDatabase() async throws {
        let result = try await ChildProcess.run(try CLI.executable(), ["check", fixturePath("cases")], environment: ["DATABASE_URL": ""])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("checked \(Self.names.count) case(s): \(Self.names.count) ok, 0 failed"), "\(result.stdout)")
        for name in Self.names {
            #expect(result.stdout.contains("ok    \(fixturePath("cases/\(name)"))"), "\(name)")
        }
    }

    @Test("a case whose expected/ is changed by one digit fails, naming the file, the field and both values")
    func oneDigitChangedFailsTheCheck() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let copy = directory.file("exact-decimals")
        try FileManager.default.copyItem(atPath: fixturePath("cases/exact-decimals"), toPath: copy)
        let file = "a0000000-0000-4000-8000-000000000007/ecriture/e7000000-0000-4000-8000-000000000001_1735776000000.json"
        let path = "\(copy)/expected/\(file)"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        #expect(original.contains(#""debit":1000000000000000000000.01"#))
        try original.replacingOccurrences(of: #""debit":1000000000000000000000.01"#, with: #""debit":1000000000000000000000.02"#)
            .write(toFile: path, atomically: true, encoding: .utf8)

        let result = try await ChildProcess.run(try CLI.executable(), ["check", copy, fixturePath("cases/gap")], environment: ["DATABASE_URL": ""])
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAIL  \(copy): 1 difference(s)"), "\(result.stdout)")
        #expect(result.stdout.contains("differs  \(file): lignes[0].debit: expected 1000000000000000000000.02, got 1000000000000000000000.01"), "\(result.stdout)")
        #expect(result.stdout.contains("ok    \(fixturePath("cases/gap"))"))
        #expect(result.stdout.contains("checked 2 case(s): 1 ok, 1 failed"))

        // Missing and extra files too.
        try FileManager.default.removeItem(atPath: path)
        try "{}".write(toFile: "\(copy)/expected/a0000000-0000-4000-8000-000000000007/ecriture/stray.json", atomically: true, encoding: .utf8)
        let again = try await ChildProcess.run(try CLI.executable(), ["check", copy], environment: ["DATABASE_URL": ""])
        #expect(again.status == 1)
        #expect(again.stdout.contains("missing  a0000000-0000-4000-8000-000000000007/ecriture/stray.json"), "\(again.stdout)")
        #expect(again.stdout.contains("extra    \(file)"), "\(again.stdout)")
    }

    @Test func badCasesAndBadOptionsAreRefusedClearly() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let copy = directory.file("case")
        try FileManager.default.copyItem(atPath: fixturePath("cases/fixture-simple"), toPath: copy)
        try #"{"initWithHistory":true,"sink":{"type":"AWS S3"}}"#.write(toFile: "\(copy)/subscription.json", atomically: true, encoding: .utf8)
        let check = try await ChildProcess.run(try CLI.executable(), ["check", copy], environment: ["DATABASE_URL": ""])
        #expect(check.status == 1)
        #expect(check.stdout.contains("FAIL  \(copy): \(copy)/subscription.json: sink.type: not allowed: a case's subscription.json may hold only initWithHistory, filters and sink.options.folderName"), "\(check.stdout)")

        let notEmpty = try directory.write("out/stale.json", "{}")
        let render = try await ChildProcess.run(try CLI.executable(), ["render", fixturePath("dossier-simple.json"), "--out", directory.file("out")], environment: ["DATABASE_URL": ""])
        #expect(render.status == 1)
        #expect(render.stderr.contains("the folder is not empty"), "\(render.stderr)")
        #expect(FileManager.default.fileExists(atPath: notEmpty))

        let filters = try await ChildProcess.run(try CLI.executable(), ["render", fixturePath("dossier-simple.json"), "--filters", "[1]", "--out", directory.file("out2")], environment: [:])
        #expect(filters.status == 1)
        #expect(filters.stderr.contains("--filters: expected a JSON object"), "\(filters.stderr)")

        let negativeZero = try directory.write("negative-zero.json", try String(contentsOfFile: fixturePath("dossier-simple.json"), encoding: .utf8)
            .replacingOccurrences(of: #""debit": 1000.00"#, with: #""debit": -0.00"#))
        let zero = try await ChildProcess.run(try CLI.executable(), ["render", negativeZero, "--out", directory.file("out4")], environment: [:])
        #expect(zero.status == 1)
        #expect(zero.stderr.contains("lignes[0].debit: write -0.00 without its minus sign: PostgreSQL gives it back in that form"), "\(zero.stderr)")

        let folder = try await ChildProcess.run(try CLI.executable(), ["render", fixturePath("dossier-simple.json"), "--folder-name", "societe", "--out", directory.file("out3")], environment: [:])
        #expect(folder.status == 1)
        #expect(folder.stderr.contains("folderName property 'societe' is missing in journal b3000000-0000-4000-8000-000000000001"), "\(folder.stderr)")
    }

    @Test("explain on the hand-made history fixture gives every period of every object its reason")
    func explainTheHistoryFixture() async throws {
        let fixture = try DossierFixture.parse(try String(contentsOfFile: fixturePath("dossier-history.json"), encoding: .utf8))
        let reasons = ["valid at t, written as history", "already written for another period", "current version, not written as history",
                       "created after t", "deleted before t", "in a gap"]
        for kind in ObjectKind.allCases {
            for id in Set((fixture.versions[kind] ?? []).map(\.id)) {
                let result = try await ChildProcess.run(try CLI.executable(), ["explain", fixturePath("dossier-history.json"), "--object", id, "--history"], environment: ["DATABASE_URL": ""])
                #expect(result.status == 0, "\(result.stderr)")
                let periodLines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("  period ") }
                #expect(periodLines.count == fixture.periods.count, "\(id): \(result.stdout)")
                for line in periodLines {
                    #expect(reasons.contains { line.contains($0) }, "\(id): \(line)")
                    #expect(line.contains("t=20"))
                }
            }
        }
        let journal = try await ChildProcess.run(try CLI.executable(), ["explain", fixturePath("dossier-history.json"), "--object", "1A8793C7-02A1-4E83-AA49-074D0021BF4A", "--history"], environment: [:])
        #expect(journal.stdout.contains(#"  period 5e000000-0000-4000-8000-000000000001 "Sept. 2024" t=2024-10-01T00:00:00.000Z (1727740800000): v2: valid at t, written as history"#), "\(journal.stdout)")
        let unknown = try await ChildProcess.run(try CLI.executable(), ["explain", fixturePath("dossier-history.json"), "--object", "00000000-0000-4000-8000-000000000000"], environment: [:])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("--object: no journal, compte or écriture 00000000-0000-4000-8000-000000000000"), "\(unknown.stderr)")
    }

    @Test("render of randomised dossiers equals the worker's output", arguments: [(false, nil), (true, nil), (true, #"{"ferme":false}"#)] as [(Bool, String?)])
    func renderEqualsTheWorkerOnRandomDossiers(withHistory: Bool, filters: String?) async throws {
        let database = try await TestDatabase.create("grand")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let dossiers = (0..<12).map { RandomDossier(seed: UInt64(5000 + $0)) }
        let files = try dossiers.enumerated().map { index, dossier in try directory.write("fixtures/\(index).json", dossier.fixtureJSON) }
        try await CLI.succeed(["fixtures", "load"] + files, database: database)
        _ = try await createSubscription(localSubscription(path: directory.file("out"), keys: dossiers.map(\.entiteId), initWithHistory: withHistory, filters: filters), database: database, in: directory)
        let run = try await CLI.run(["run-once", "--concurrency", "4"], database: database)
        #expect(run.status == 0, "\(run.stderr)")

        var rendered: [String: [UInt8]] = [:]
        for (index, file) in files.enumerated() {
            var arguments = ["render", file, "--out", directory.file("render/\(index)")]
            if withHistory { arguments.append("--history") }
            if let filters { arguments += ["--filters", filters] }
            try await CLI.succeed(arguments, database: "")
            rendered.merge(directory.files(under: "render/\(index)")) { $1 }
        }
        let written = Self.documents(directory.files(under: "out"))
        #expect(!written.isEmpty)
        let differences = FileComparison.differences(expected: written, actual: rendered)
        #expect(differences.isEmpty, "\(differences.prefix(5).map(\.description).joined(separator: "\n"))")
    }

    // MARK: Support

    static func load(_ name: String) throws -> GoldenCase {
        let folder = fixturePath("cases/\(name)")
        func text(_ file: String) throws -> String? {
            let path = "\(folder)/\(file)"
            return FileManager.default.fileExists(atPath: path) ? try String(contentsOfFile: path, encoding: .utf8) : nil
        }
        let expected = "\(folder)/\(GoldenCase.expectedFolder)"
        let failure = try text(GoldenCase.expectedFailureFile)
        guard FileManager.default.fileExists(atPath: expected) || failure != nil else { throw TestFailure("\(name): no expected/ folder nor expected-failure.txt") }
        return try GoldenCase.parse(
            name: name,
            dossier: try String(contentsOfFile: "\(folder)/\(GoldenCase.dossierFile)", encoding: .utf8),
            subscription: try text(GoldenCase.subscriptionFile),
            expected: readTree(expected),
            expectedFailure: failure
        )
    }

    /// Every regular file below `root`, by path relative to it, with its bytes.
    static func readTree(_ root: String) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return files }
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = "\(root)/\(relative)"
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
               let data = FileManager.default.contents(atPath: path) {
                files[relative] = Array(data)
            }
        }
        return files
    }

    /// The documents a Local Directory sink holds: the manifest and the sink's temporary files aside.
    static func documents(_ files: [String: [UInt8]]) -> [String: [UInt8]] {
        files.filter { !$0.key.hasPrefix("_manifests/") && !$0.key.hasPrefix(".partial/") }
    }
}
