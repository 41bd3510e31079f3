import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 9: the files of a run are made durable together (the sink's flush) before the manifest, and the manifest
/// durable last; a flush that fails fails the run, and no manifest is written.
@Suite("Batch durability of a run", .serialized)
struct BatchDurabilityTests {
    static let entite = "7e9030b3-40e9-4726-8d8c-9bfbadc59844"

    /// The object names (or `(flush)`) of the sink's audit log, in order.
    static func auditTrail(_ path: String) -> [String] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 2).last.map(String.init) ?? "" }
    }

    /// A migrated database with the history fixture and one Local Directory subscription on it; returns the database
    /// and the subscription id. (`TestDatabase.create` migrates already.)
    static func historyDossier(_ label: String, sinkIn directory: TemporaryDirectory) async throws -> (database: String, subscriptionId: String) {
        let database = try await TestDatabase.create(label)
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-history.json")], database: database)
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: [entite], initWithHistory: true), database: database, in: directory)
        return (database, id)
    }

    @Test("every file, then a flush, then the manifest, then a flush")
    func manifestComesAfterTheFlush() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (database, id) = try await Self.historyDossier("durable", sinkIn: directory)
        let audit = directory.file("audit.log")
        try await CLI.succeed(["run-once", "--sink-audit-log", audit], database: database)
        let trail = Self.auditTrail(audit)
        #expect(trail.count == 15, "\(trail)")
        #expect(trail.suffix(3) == ["(flush)", "_manifests/\(id)/\(Self.entite).json", "(flush)"], "\(trail)")
        #expect(trail.dropLast(3).allSatisfy { $0.hasPrefix("\(Self.entite)/") }, "\(trail)")
        #expect(try await filterStates(id, database: database)[Self.entite]?.status == "ready")
    }

    @Test("a failing flush fails the run, and no manifest is written")
    func failingFlushFailsTheRun() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (database, id) = try await Self.historyDossier("durablefail", sinkIn: directory)
        let audit = directory.file("audit.log")
        // Journals are written first, at 4 files a second: once comptes are being written, the journal folder is
        // swapped for a link to a copy, which the flush refuses to follow.
        let worker = try CLI.start(["run-once", "--sink-audit-log", audit, "--max-writes-per-second", "4"], database: database)
        var swapped = false
        for _ in 0..<1000 where !swapped {
            if Self.auditTrail(audit).contains(where: { $0.contains("/compte/") }) {
                let journal = directory.file("out/\(Self.entite)/journal")
                try FileManager.default.moveItem(atPath: journal, toPath: directory.file("moved-journal"))
                #expect(symlink(directory.file("moved-journal"), journal) == 0)
                swapped = true
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        #expect(swapped)
        #expect(await worker.waitForExit(within: 60) == 1, "\(worker.standardOutput)\(worker.standardError)")
        let state = try #require(try await filterStates(id, database: database)[Self.entite])
        #expect(state.status == "failed")
        #expect(state.message?.contains("journal is a symbolic link") == true, "\(state.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: directory.file("out/_manifests/\(id)/\(Self.entite).json")))
        #expect(!Self.auditTrail(audit).contains { $0.hasPrefix("_manifests/") || $0 == "(flush)" })
    }
}
