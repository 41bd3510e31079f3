import AsyncHTTPClient
import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double, every interval: Duration = .milliseconds(200), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}

/// status → count of the database's key filters.
func statusCounts(_ database: String) async throws -> [String: Int] {
    var counts: [String: Int] = [:]
    for row in try await sql("SELECT status, count(*) FROM cae_key_filter GROUP BY status", database: database).rows {
        counts[row[0]!] = Int(row[1]!)!
    }
    return counts
}

/// Many dossiers loaded, one subscription listing them all, for the multi-worker tests.
struct ManyDossiers {
    let database: String
    let directory: TemporaryDirectory
    let dossiers: [RandomDossier]
    let subscriptionId: String
    var output: String { directory.file("out") }
    var auditLog: String { directory.file("audit.log") }

    /// `maxObjectsPerKind` sizes each dossier: the tests that act during a run want one that lasts.
    static func make(count: Int, maxObjectsPerKind: Int = 3, database: String) async throws -> ManyDossiers {
        let directory = TemporaryDirectory()
        let dossiers = (0..<count).map { RandomDossier(seed: UInt64(50_000 + $0), maxObjectsPerKind: maxObjectsPerKind) }
        let files = try dossiers.enumerated().map { index, dossier in try directory.write("fixtures/\(index).json", dossier.fixtureJSON) }
        try await CLI.succeed(["fixtures", "load"] + files, database: database)
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: dossiers.map(\.entiteId), initWithHistory: true), database: database, in: directory)
        return ManyDossiers(database: database, directory: directory, dossiers: dossiers, subscriptionId: id)
    }

    func startWorker(_ extra: [String] = []) throws -> ChildProcess {
        try CLI.start(["worker", "--concurrency", "2", "--poll-interval-ms", "300", "--sink-audit-log", auditLog] + extra, database: database)
    }

    /// Every dossier's files on disk are exactly the independent computation's, byte for value.
    func checkFiles() throws -> [String] {
        let written = directory.files(under: "out").filter { !$0.key.hasPrefix("_manifests/") && !$0.key.hasPrefix(".partial/") }
        var expected: [String: JSONValue] = [:]
        for dossier in dossiers { expected.merge(dossier.expectedFiles(withHistory: true)) { $1 } }
        var problems: [String] = []
        let missing = Set(expected.keys).subtracting(written.keys)
        let unexpected = Set(written.keys).subtracting(expected.keys)
        if !missing.isEmpty { problems.append("missing \(missing.count): \(missing.sorted().prefix(3))") }
        if !unexpected.isEmpty { problems.append("unexpected \(unexpected.count): \(unexpected.sorted().prefix(3))") }
        for (name, bytes) in written {
            if let want = expected[name], !(try JSONValue.parse(bytes: bytes)).isJSONEqual(to: want) { problems.append("content of \(name)") }
        }
        for dossier in dossiers where !FileManager.default.fileExists(atPath: "\(output)/_manifests/\(subscriptionId)/\(dossier.entiteId).json") {
            problems.append("no manifest for \(dossier.entiteId)")
        }
        return problems
    }
}

/// Issue 3: several worker processes, killed at any moment, with database faults.
@Suite("Workers", .serialized)
struct WorkerTests {
    @Test("4 worker processes on 200 new filters: each ready exactly once, never two at once")
    func fourWorkers() async throws {
        let database = try await TestDatabase.create("workers")
        let setup = try await ManyDossiers.make(count: 200, database: database)
        defer { setup.directory.remove() }
        let workers = try (0..<4).map { _ in try setup.startWorker(["--lease-seconds", "20"]) }
        let done = try await eventually(within: 240) { try await statusCounts(database)["ready"] == 200 }
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { #expect(await worker.waitForExit(within: 40) == 0, "\(worker.standardError.suffix(2000))") }
        let counts = try await statusCounts(database)
        #expect(done, "\(counts)")
        #expect(try await statusCounts(database) == ["ready": 200])

        let audit = SinkAudit(path: setup.auditLog)
        #expect(Set(audit.writes.map(\.pid)).count > 1, "the work was shared")
        #expect(audit.overlappingDossiers().isEmpty, "\(audit.overlappingDossiers().prefix(5))")
        for dossier in setup.dossiers {
            #expect(audit.manifestWrites(entite: dossier.entiteId) == 1, "\(dossier.entiteId)")
        }
        let problems = try setup.checkFiles()
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        let attempts = try await sql("SELECT max(attempt) FROM cae_key_filter", database: database).scalar()
        #expect(attempts == "1")
    }

    @Test("workers killed with SIGKILL at random moments and restarted: all 200 end ready with exactly the expected files")
    func killedWorkers() async throws {
        let database = try await TestDatabase.create("kills")
        let setup = try await ManyDossiers.make(count: 200, database: database)
        defer { setup.directory.remove() }
        // Paced so that the 200 initialisations last long enough for 20 kills to land in the middle of runs.
        let arguments = ["--lease-seconds", "3", "--max-attempts", "50", "--max-writes-per-second", "6"]
        var workers = try (0..<4).map { _ in try setup.startWorker(arguments) }
        var random = SeededRandom(seed: 7)
        var kills = 0
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, try await statusCounts(database)["ready"] != 200 {
            try await Task.sleep(for: .milliseconds(300 + Int(random.next() % 900)))
            if kills < 20 {
                let index = Int(random.next() % UInt64(workers.count))
                workers[index].signal(SIGKILL)
                await workers[index].waitForExit()
                workers[index] = try setup.startWorker(arguments)
                kills += 1
            }
        }
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { await worker.waitForExit(within: 40) }
        #expect(kills == 20, "the runs ended before 20 kills")
        #expect(try await statusCounts(database) == ["ready": 200])
        let audit = SinkAudit(path: setup.auditLog)
        #expect(Set(audit.writes.map(\.pid)).count > 4, "killed workers had written")
        #expect(audit.overlappingDossiers().isEmpty, "\(audit.overlappingDossiers().prefix(5))")
        let problems = try setup.checkFiles()
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    @Test("a filter reset while its run goes on: the old outcome is discarded and a newer run makes it ready")
    func resetDuringRun() async throws {
        let database = try await TestDatabase.create("reset")
        // Many files at 2 per second: the run is still going when the reset comes, however loaded the machine.
        let setup = try await ManyDossiers.make(count: 1, maxObjectsPerKind: 12, database: database)
        defer { setup.directory.remove() }
        let key = setup.dossiers[0].entiteId
        try #require(setup.dossiers[0].expectedFiles(withHistory: true).count >= 8, "a dossier whose run lasts a few seconds")
        let worker = try setup.startWorker(["--lease-seconds", "3", "--max-writes-per-second", "2"])
        defer { worker.signal(SIGKILL) }
        #expect(try await eventually(within: 30) { SinkAudit(path: setup.auditLog).writes.count >= 2 })
        let resetAt = UInt64(Date().timeIntervalSince1970 * 1e9)
        try await CLI.succeed(["key-filters", "reset", "--subscription", setup.subscriptionId, key], database: database)
        #expect(try await eventually(within: 60) { try await statusCounts(database) == ["ready": 1] })
        let audit = SinkAudit(path: setup.auditLog)
        let manifests = audit.writes.filter { $0.object.hasPrefix("_manifests/") }
        #expect(manifests.count == 1)
        #expect((manifests.first?.nanoseconds ?? 0) > resetAt, "the manifest comes from the newer run")
        worker.signal(SIGTERM)
        await worker.waitForExit(within: 20)
        #expect(worker.standardError.contains("outcome discarded"), "\(worker.standardError.suffix(3000))")
        #expect(try setup.checkFiles().isEmpty)
    }

    @Test("a filter removed during its run: the run stops and writes no status and no manifest")
    func removedDuringRun() async throws {
        let database = try await TestDatabase.create("remove")
        let setup = try await ManyDossiers.make(count: 1, maxObjectsPerKind: 12, database: database)
        defer { setup.directory.remove() }
        let key = setup.dossiers[0].entiteId
        try #require(setup.dossiers[0].expectedFiles(withHistory: true).count >= 8, "a dossier whose run lasts a few seconds")
        let worker = try setup.startWorker(["--lease-seconds", "3", "--max-writes-per-second", "2"])
        defer { worker.signal(SIGKILL) }
        #expect(try await eventually(within: 30) { SinkAudit(path: setup.auditLog).writes.count >= 2 })
        try await CLI.succeed(["key-filters", "remove", "--subscription", setup.subscriptionId, key], database: database)
        let writesAtRemoval = SinkAudit(path: setup.auditLog).writes.count
        #expect(try await eventually(within: 10) { worker.standardError.contains("outcome discarded") })
        try await Task.sleep(for: .seconds(1.5))
        let audit = SinkAudit(path: setup.auditLog)
        #expect(audit.manifestWrites(entite: key) == 0)
        #expect(audit.writes.count <= writesAtRemoval + 3, "the run stopped writing")
        #expect(try await sql("SELECT count(*) FROM cae_key_filter", database: database).scalar() == "0")
        // The subscription deleted during a run: likewise nothing written.
        try await CLI.succeed(["subscriptions", "delete", setup.subscriptionId], database: database)
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(within: 20) == 0)
    }

    @Test("PostgreSQL stopped for 10 s in the middle of a run: the worker survives and every filter ends ready")
    func databaseRestart() async throws {
        let cluster = try await PrivateCluster()
        defer { Task { await cluster.destroy() } }
        let database = cluster.url
        try await CLI.succeed(["migrate"], database: database)
        let setup = try await ManyDossiers.make(count: 6, database: database)
        defer { setup.directory.remove() }
        let worker = try setup.startWorker(["--lease-seconds", "4", "--max-attempts", "20", "--retry-delay-ms", "500", "--max-writes-per-second", "8"])
        defer { worker.signal(SIGKILL) }
        #expect(try await eventually(within: 30) { SinkAudit(path: setup.auditLog).writes.count >= 3 })
        try await cluster.stop()
        try await Task.sleep(for: .seconds(10))
        #expect(await worker.waitForExit(within: 0.1) == nil, "the worker is still running while the database is down")
        try await cluster.start()
        let done = try await eventually(within: 120) { (try? await statusCounts(database)) == ["ready": 6] }
        #expect(done, "\(worker.standardError.suffix(3000))")
        #expect(await worker.waitForExit(within: 0.1) == nil, "the worker is still running")
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(within: 30) == 0)
        #expect(try setup.checkFiles().isEmpty)
    }

    @Test("SIGTERM during a long run: exits within the grace period, the filter back to new, never pending")
    func gracefulShutdown() async throws {
        let database = try await TestDatabase.create("sigterm")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fixture = fixturePath("dossier-history.json")
        try await CLI.succeed(["fixtures", "load", fixture], database: database)
        _ = try await createSubscription(localSubscription(path: directory.file("out"), keys: [EndToEndTests.historyEntite], initWithHistory: true), database: database, in: directory)
        let audit = directory.file("audit.log")
        // 12 files at 1 per second: far longer than the 2 s grace period.
        let worker = try CLI.start(["worker", "--grace-seconds", "2", "--max-writes-per-second", "1", "--sink-audit-log", audit], database: database)
        defer { worker.signal(SIGKILL) }
        #expect(try await eventually(within: 30) { SinkAudit(path: audit).writes.count >= 1 })
        let start = Date()
        worker.signal(SIGTERM)
        let status = await worker.waitForExit(within: 10)
        #expect(status == 0, "\(worker.standardError.suffix(2000))")
        #expect(Date().timeIntervalSince(start) < 2 + 3)
        #expect(try await statusCounts(database) == ["new": 1])
        #expect(try await sql("SELECT attempt FROM cae_key_filter", database: database).scalar() == "0", "a released run does not count as an attempt")
        #expect(worker.standardError.contains("released"))

        // A run that finishes within the grace period ends ready.
        let second = try CLI.start(["worker", "--grace-seconds", "30", "--max-writes-per-second", "10"], database: database)
        defer { second.signal(SIGKILL) }
        #expect(try await eventually(within: 30, every: .milliseconds(50)) {
            let counts = try await statusCounts(database)
            return counts["pending"] == 1 || counts["ready"] == 1
        })
        second.signal(SIGTERM)
        #expect(await second.waitForExit(within: 30) == 0)
        #expect(try await statusCounts(database) == ["ready": 1])
    }

    @Test("a new filter starts within a second through LISTEN/NOTIFY, long before the poll interval; metrics are served")
    func notifyWakesTheWorker() async throws {
        let database = try await TestDatabase.create("notify")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fixtures = fixturePath("dossier-simple.json")
        try await CLI.succeed(["fixtures", "load", fixtures], database: database)
        let port = try ServerProcess.freePort()
        let worker = try CLI.start(["worker", "--poll-interval-ms", "60000", "--metrics-port", "\(port)", "--metrics-host", "127.0.0.1"], database: database)
        defer { worker.signal(SIGKILL) }
        #expect(try await eventually(within: 20) { worker.standardError.contains("metrics served") })
        try await Task.sleep(for: .seconds(1))
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: [], initWithHistory: false), database: database, in: directory)
        let added = Date()
        try await CLI.succeed(["key-filters", "add", "--subscription", id, "3b7c6a52-9f1e-4d2a-8c3b-5e6f7a8b9c0d"], database: database)
        #expect(try await eventually(within: 10, every: .milliseconds(50)) { try await statusCounts(database)["new"] == nil })
        #expect(Date().timeIntervalSince(added) < 2, "claimed \(Date().timeIntervalSince(added)) s after the filter was added")
        #expect(try await eventually(within: 20) { try await statusCounts(database) == ["ready": 1] })

        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
        let metrics = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(metrics.contains("cae_init_filters_claimed_total 1"), "\(metrics)")
        #expect(metrics.contains("cae_init_filters_ready_total 1"))
        #expect(metrics.contains("cae_init_files_written_total"))
        #expect(metrics.contains("cae_init_initialisation_seconds"))
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(within: 20) == 0)
        let log = worker.standardError
        #expect(log.contains("claimed") && log.contains("ready") && log.contains("subscription=\(id)"), "\(log)")
    }

    @Test("a transient failure is retried with backoff, then failed after the configured attempts")
    func transientFailuresAreRetriedThenFail() async throws {
        let database = try await TestDatabase.create("retry")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let port = try ServerProcess.freePort()  // nothing listens there: connection refused, a transient failure
        let body = #"{"domain":"d","keyFilters":[{"key":"3b7c6a52-9f1e-4d2a-8c3b-5e6f7a8b9c0d"}],"sink":{"type":"AWS S3","credentials":{"accessKeyId":"AKID","secretAccessKey":"SECRETKEYVALUE","region":"us-east-1"},"options":{"bucketName":"b","endpoint":"http://127.0.0.1:\#(port)"},"retryPolicy":{"maxRetries":0,"backoffSeconds":0}}}"#
        let id = try await createSubscription(body, database: database, in: directory)
        let start = Date()
        let run = try await CLI.run(["run-once", "--max-attempts", "3", "--retry-delay-ms", "300"], database: database, environment: ["LOG_LEVEL": "info"])
        #expect(run.status == 1)
        #expect(Date().timeIntervalSince(start) >= 0.9, "waited 0.3 s then 0.6 s between attempts")
        #expect(run.stdout.contains("retrying") && run.stdout.contains("attempt 1 of 3 failed"), "\(run.stdout)")
        let state = try #require(try await filterStates(id, database: database)["3b7c6a52-9f1e-4d2a-8c3b-5e6f7a8b9c0d"])
        #expect(state.status == "failed")
        #expect(state.message?.hasPrefix("failed after 3 attempts: S3") == true, "\(state.message ?? "")")
        #expect(!run.stdout.contains("SECRETKEYVALUE") && !run.stderr.contains("SECRETKEYVALUE"))
    }
}
