import CaeInitCore
import CaeInitPostgres
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 9, `--spool-dir`: the rows go to a local spool inside the snapshot, the transaction ends, the writes run
/// from the spool. The same files; no transaction held while they are written; a killed worker's spool removed.
@Suite("Spool", .serialized)
struct SpoolTests {
    /// The object files of a Local Directory sink (manifests and temporary files aside).
    static func objectFiles(_ directory: TemporaryDirectory, _ sub: String) -> [String: [UInt8]] {
        directory.files(under: sub).filter { !$0.key.hasPrefix("_manifests/") && !$0.key.hasPrefix(".partial/") }
    }

    static func spoolFiles(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".spool") }
    }

    @Test("The same files with and without --spool-dir (history on, random dossiers), and the spool removed after")
    func sameFiles() async throws {
        let database = try await TestDatabase.create("spool_same")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let dossiers = (0..<6).map { RandomDossier(seed: UInt64(90_000 + $0), maxObjectsPerKind: 12) }
        let files = try dossiers.enumerated().map { try directory.write("fixtures/\($0.offset).json", $0.element.fixtureJSON) }
        try await CLI.succeed(["fixtures", "load"] + files, database: database)
        let keys = dossiers.map(\.entiteId)
        _ = try await createSubscription(localSubscription(path: directory.file("plain"), keys: keys, initWithHistory: true), database: database, in: directory)
        try await CLI.succeed(["run-once"], database: database)
        _ = try await createSubscription(localSubscription(path: directory.file("spooled"), keys: keys, initWithHistory: true), database: database, in: directory)
        let spoolDir = directory.file("spool")
        let run = try await CLI.run(["run-once", "--spool-dir", spoolDir, "--read-batch-size", "7"], database: database, environment: ["LOG_LEVEL": "info"])
        #expect(run.status == 0, "\(run.stderr.suffix(2000))")

        let plain = Self.objectFiles(directory, "plain")
        let spooled = Self.objectFiles(directory, "spooled")
        var expected: [String: JSONValue] = [:]
        for dossier in dossiers { expected.merge(dossier.expectedFiles(withHistory: true)) { $1 } }
        #expect(plain.count == expected.count && expected.count > 50, "\(plain.count) vs \(expected.count)")
        #expect(spooled == plain, "\(Set(spooled.keys).symmetricDifference(plain.keys).sorted().prefix(5))")
        #expect(run.stderr.contains("snapshot read: "), "\(run.stderr.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: spoolDir) && Self.spoolFiles(spoolDir).isEmpty)
    }

    /// Transactions of this database's cae-init connections that hold a snapshot or are open.
    /// Asked on one connection kept for the whole sampling (a new connection per sample was slow on a loaded machine).
    static func openTransactions(_ monitor: PostgresConnection) async throws -> Int {
        let rows = try await monitor.query(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'cae-init % snapshot'
              AND (backend_xmin IS NOT NULL OR xact_start IS NOT NULL)
            """
        )
        return Int(rows.rows[0][0]!)!
    }

    /// Starts `run-once` paced at 20 writes a second on a dossier of at least 80 files (4 s of writes at least), and
    /// samples the open transactions while its files are being written; returns the samples and the worker's log.
    static func sampleWhileWriting(spool: Bool, seed: UInt64) async throws -> (samples: [Int], log: String) {
        let database = try await TestDatabase.create("spool_snapshot")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let dossier = RandomDossier(seed: seed, maxObjectsPerKind: 150)
        let expected = dossier.expectedFiles(withHistory: true).count
        // At 20 writes a second, several seconds of writes to sample, even when a sample is slow on a loaded machine.
        #expect(expected >= 80, "\(expected) files")
        try await CLI.succeed(["fixtures", "load", try directory.write("dossier.json", dossier.fixtureJSON)], database: database)
        _ = try await createSubscription(localSubscription(path: directory.file("out"), keys: [dossier.entiteId], initWithHistory: true), database: database, in: directory)
        let extra = spool ? ["--spool-dir", directory.file("spool")] : []
        let worker = try CLI.start(["run-once", "--max-writes-per-second", "20"] + extra, database: database)
        defer { worker.signal(SIGKILL) }
        #expect(try await eventually(within: 60, every: .milliseconds(50)) { !objectFiles(directory, "out").isEmpty })
        let monitor = try await PostgresConnection.connect(database)
        defer { Task { await monitor.close() } }
        var samples: [Int] = []
        while objectFiles(directory, "out").count < expected - 10, samples.count < 40 {
            samples.append(try await openTransactions(monitor))
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(await worker.waitForExit(within: 60) == 0, "\(worker.standardError.suffix(2000))")
        #expect(objectFiles(directory, "out").count == expected)
        return (samples, worker.standardError)
    }

    @Test("With --spool-dir no transaction is open while the files are written; without, the snapshot lasts the writes")
    func snapshotEndsBeforeTheWrites() async throws {
        let spooled = try await Self.sampleWhileWriting(spool: true, seed: 91_000)
        #expect(spooled.samples.count >= 3, "sampled while writing: \(spooled.samples)")
        #expect(spooled.samples.allSatisfy { $0 == 0 }, "\(spooled.samples)")
        let line = try #require(spooled.log.split(separator: "\n").first { $0.contains("snapshot read: ") }, "\(spooled.log.suffix(2000))")
        #expect(line.contains(/snapshot read: \d+ rows in \d+\.\d{3} s/), "\(line)")

        // The control: the same run without a spool holds its snapshot (backend_xmin) all along.
        let plain = try await Self.sampleWhileWriting(spool: false, seed: 91_000)
        #expect(plain.samples.count >= 3 && plain.samples.allSatisfy { $0 >= 1 }, "\(plain.samples)")
    }

    @Test("A killed worker's spool is removed by the next worker started on the directory")
    func killedWorkersSpool() async throws {
        let database = try await TestDatabase.create("spool_killed")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let dossier = RandomDossier(seed: 92_000, maxObjectsPerKind: 40)
        try await CLI.succeed(["fixtures", "load", try directory.write("dossier.json", dossier.fixtureJSON)], database: database)
        _ = try await createSubscription(localSubscription(path: directory.file("out"), keys: [dossier.entiteId], initWithHistory: true), database: database, in: directory)
        let spoolDir = directory.file("spool")
        let worker = try CLI.start(["run-once", "--max-writes-per-second", "10", "--lease-seconds", "2", "--spool-dir", spoolDir], database: database)
        #expect(try await eventually(within: 60, every: .milliseconds(50)) { !Self.objectFiles(directory, "out").isEmpty })
        let left = Self.spoolFiles(spoolDir)
        #expect(left.count == 1, "\(left)")
        worker.signal(SIGKILL)
        _ = await worker.waitForExit(within: 10)
        #expect(Self.spoolFiles(spoolDir) == left, "the killed worker's spool is still there")

        // The next worker (here a run-once that finishes the dossier once the 2 s lease lapses) removes it.
        let next = try CLI.start(["run-once", "--spool-dir", spoolDir], database: database)
        #expect(try await eventually(within: 10, every: .milliseconds(50)) { Self.spoolFiles(spoolDir).allSatisfy { !left.contains($0) } })
        #expect(await next.waitForExit(within: 60) == 0, "\(next.standardError.suffix(2000))")
        #expect(Self.spoolFiles(spoolDir).isEmpty)
    }
}
