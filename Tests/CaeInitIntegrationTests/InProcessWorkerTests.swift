import CaeInitApp
import CaeInitCore
import CaeInitTestSupport
import CaeInitWorker
import Foundation
import Logging
import Synchronization
import Testing

/// The worker built by the composition root (`buildApp`) in the test process, against the real database: claims,
/// heartbeats, resets and retries without a child process.
@Suite("Worker in process", .serialized)
struct InProcessWorkerTests {
    /// Runs `buildApp` with the worker in run-once mode until it ends; returns every outcome in order.
    static func runOnce(database: String, _ options: WorkerOptions, whileRunning: @escaping @Sendable () async throws -> Void = {}) async throws -> [FilterOutcome] {
        let outcomes = Mutex<[FilterOutcome]>([])
        var options = options
        options.exitWhenIdle = true
        let app = buildApp(AppConfiguration(storeConninfo: database, worker: options), logger: Logger(label: "test")) { outcome in
            outcomes.withLock { $0.append(outcome) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run(signals: []) }
            group.addTask { try await whileRunning() }
            try await group.waitForAll()
        }
        return outcomes.withLock { $0 }
    }

    @Test("a claim runs to ready; its lease (8 s) is renewed by heartbeats through an 18 s run")
    func heartbeatsKeepTheClaim() async throws {
        let database = try await TestDatabase.create("inproc")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-history.json")], database: database)
        _ = try await createSubscription(localSubscription(path: directory.file("out"), keys: [EndToEndTests.historyEntite], initWithHistory: true), database: database, in: directory)
        // 12 files at 0.6 per second: more than twice the lease. The lease leaves room for this test process's
        // cooperative pool (2 threads) being busy with the rest of the suite: a heartbeat every 2.7 s, 5.3 s of slack
        // (with a 5 s lease, 3.3 s of slack was overrun once in a full run on the 2-core machine).
        let outcomes = try await Self.runOnce(database: database, WorkerOptions(lease: .seconds(8), initialiser: .init(maxWritesPerSecond: 0.6)))
        #expect(outcomes.map(\.status) == [.ready], "\(outcomes.map(\.detail))")
        #expect(try await statusCounts(database) == ["ready": 1])
    }

    @Test("a filter reset during its run: the run's outcome is discarded, and a new run makes it ready")
    func resetDuringRun() async throws {
        let database = try await TestDatabase.create("inprocreset")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-history.json")], database: database)
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: [EndToEndTests.historyEntite], initWithHistory: true), database: database, in: directory)
        let outcomes = try await Self.runOnce(database: database, WorkerOptions(lease: .seconds(5), initialiser: .init(maxWritesPerSecond: 3))) {
            #expect(try await eventually(within: 20, every: .milliseconds(50)) { try await statusCounts(database)["pending"] == 1 })
            try await Task.sleep(for: .milliseconds(300))
            try await CLI.succeed(["key-filters", "reset", "--subscription", id, EndToEndTests.historyEntite], database: database)
        }
        #expect(outcomes.map(\.status) == [.discarded, .ready], "\(outcomes.map(\.detail))")
        #expect(try await statusCounts(database) == ["ready": 1])
    }

    @Test("transient failures: retried with backoff, failed on the last allowed attempt (2 attempts: exactly 2 runs)")
    func retriesThenFailed() async throws {
        let database = try await TestDatabase.create("inprocretry")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let port = try ServerProcess.freePort()
        let body = #"{"domain":"d","keyFilters":[{"key":"\#(EndToEndTests.simpleEntite)"}],"sink":{"type":"AWS S3","credentials":{"accessKeyId":"AK","secretAccessKey":"secretsecret","region":"us-east-1"},"options":{"bucketName":"b","endpoint":"http://127.0.0.1:\#(port)"},"retryPolicy":{"maxRetries":0,"backoffSeconds":0,"backoffMultiplier":1}}}"#
        _ = try await createSubscription(body, database: database, in: directory)
        let outcomes = try await Self.runOnce(database: database, WorkerOptions(maxAttempts: 2, retryBaseDelay: .milliseconds(100)))
        #expect(outcomes.map(\.status) == [.retrying, .failed], "\(outcomes.map(\.detail))")
        #expect(outcomes.map(\.attempt) == [1, 2])
        #expect(outcomes.last?.detail.hasPrefix("failed after 2 attempts") == true)
        #expect(try await statusCounts(database) == ["failed": 1])
    }
}
