import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 9: random dossiers give the same files whatever the tuning: history on or off × spool or not × one write in
/// flight or many × small or default read batches. Each option set's whole sink tree (manifests aside) is compared
/// byte for byte with the others of the same history mode, and with SPEC §4 computed independently.
@Suite("Option equivalence", .serialized)
struct OptionEquivalenceTests {
    /// A new base seed each run, printed in every failure; `CAE_INIT_TEST_SEED` replays one.
    static let baseSeed: UInt64 = ProcessInfo.processInfo.environment["CAE_INIT_TEST_SEED"].flatMap { UInt64($0) }
        ?? UInt64.random(in: 1...1_000_000)

    /// Spool off/on × 1/64 writes in flight × read batches of 3/500 rows, as `run-once` arguments.
    static func optionSets(spoolDir: String) -> [(name: String, arguments: [String])] {
        var sets: [(String, [String])] = []
        for spool in [false, true] {
            for inFlight in ["1", "64"] {
                for batch in ["3", "500"] {
                    let name = "spool \(spool ? "on" : "off"), in flight \(inFlight), read batch \(batch)"
                    sets.append((name, ["--max-uploads-in-flight", inFlight, "--read-batch-size", batch] + (spool ? ["--spool-dir", spoolDir] : [])))
                }
            }
        }
        return sets
    }

    @Test("Every option set writes the same files as every other, and as SPEC §4", arguments: [false, true])
    func sameFilesWithEveryOption(withHistory: Bool) async throws {
        let seed = Self.baseSeed + (withHistory ? 1_000_000 : 0)
        let database = try await TestDatabase.create("options")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let dossiers = (0..<4).map { RandomDossier(seed: seed + UInt64($0), maxObjectsPerKind: 10) }
        let fixtures = try dossiers.enumerated().map { try directory.write("fixtures/\($0.offset).json", $0.element.fixtureJSON) }
        try await CLI.succeed(["fixtures", "load"] + fixtures, database: database)
        var expected: [String: JSONValue] = [:]
        for dossier in dossiers { expected.merge(dossier.expectedFiles(withHistory: withHistory)) { $1 } }

        var reference: (name: String, files: [String: [UInt8]])?
        for (index, set) in Self.optionSets(spoolDir: directory.file("spool")).enumerated() {
            let out = "out-\(index)"
            _ = try await createSubscription(localSubscription(path: directory.file(out), keys: dossiers.map(\.entiteId), initWithHistory: withHistory), database: database, in: directory)
            let run = try await CLI.run(["run-once"] + set.arguments, database: database)
            #expect(run.status == 0, "seed \(seed), \(set.name): \(run.stderr.suffix(2000))")
            let files = directory.files(under: out).filter { !$0.key.hasPrefix("_manifests/") }
            #expect(files.count == expected.count, "seed \(seed), \(set.name): \(files.count) files, SPEC §4 says \(expected.count)")
            for (name, bytes) in files {
                guard let want = expected[name] else {
                    Issue.record("seed \(seed), \(set.name): unexpected \(name)")
                    continue
                }
                #expect(try JSONValue.parse(bytes: bytes).isJSONEqual(to: want), "seed \(seed), \(set.name): content of \(name)")
            }
            if let reference {
                let differing = Set(files.keys).union(reference.files.keys).filter { files[$0] != reference.files[$0] }
                #expect(differing.isEmpty, "seed \(seed): \(set.name) differs from \(reference.name) in \(differing.sorted().prefix(5))")
            } else {
                reference = (set.name, files)
            }
        }
    }
}
