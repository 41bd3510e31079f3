@testable import CaeInitWorker
import CaeInitCore
import CaeInitPostgres
import CaeInitStore
import CaeInitTestSupport
import Foundation
import Logging
import Testing

/// Issue 7: faults found by reading the code beside postgres-nio and swift-jobs, and by trying the CLI as a hostile
/// user would. Each test failed before its fix.
@Suite("Hardening", .serialized)
struct HardeningTests {
    @Test("SIGTERM while the dossier query waits on the server (a locked table): exits within the grace period, filter back to new")
    func sigtermDuringServerWait() async throws {
        let database = try await TestDatabase.create("lockwait")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-history.json")], database: database)
        _ = try await createSubscription(localSubscription(path: directory.file("out"), keys: [EndToEndTests.historyEntite], initWithHistory: true), database: database, in: directory)
        // Another session holds an exclusive lock: the snapshot's first read of journals waits on it.
        let locker = try await PostgresConnection.connect(database)
        try await locker.execute("BEGIN; LOCK TABLE cae_journal_history IN ACCESS EXCLUSIVE MODE; LOCK TABLE cae_journal IN ACCESS EXCLUSIVE MODE")
        let worker = try CLI.start(["worker", "--grace-seconds", "2"], database: database)
        defer { worker.signal(SIGKILL) }
        #expect(try await eventually(within: 30) {
            let waiting = try await sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()", database: database)
            return waiting.scalar() == "1"
        })
        let start = Date()
        worker.signal(SIGTERM)
        let status = await worker.waitForExit(within: 15)
        #expect(status == 0, "\(worker.standardError.suffix(2000))")
        #expect(Date().timeIntervalSince(start) < 2 + 2.5, "exited within the grace period")
        #expect(try await statusCounts(database) == ["new": 1])
        try await locker.execute("ROLLBACK")
    }

    @Test("PostgreSQL stopped, then SIGTERM: the worker exits within the grace period and logs a bounded number of lines")
    func sigtermWithDatabaseDown() async throws {
        let cluster = try await PrivateCluster()
        defer { Task { await cluster.destroy() } }
        let database = cluster.url
        try await CLI.succeed(["migrate"], database: database)
        let setup = try await ManyDossiers.make(count: 2, database: database)
        defer { setup.directory.remove() }
        let worker = try setup.startWorker(["--lease-seconds", "60", "--grace-seconds", "3", "--max-writes-per-second", "4"])
        defer { worker.signal(SIGKILL) }
        #expect(try await eventually(within: 30) { SinkAudit(path: setup.auditLog).writes.count >= 2 })
        try await cluster.stop()
        try await Task.sleep(for: .seconds(1))
        let start = Date()
        worker.signal(SIGTERM)
        let status = await worker.waitForExit(within: 20)
        let elapsed = Date().timeIntervalSince(start)
        #expect(status != nil, "the worker exited")
        #expect(elapsed < 3 + 2.5, "exited within the grace period (took \(elapsed) s)")
        let lines = worker.standardError.split(separator: "\n").count
        #expect(lines < 60, "a bounded number of log lines, not a flood: \(lines)\n\(worker.standardError.suffix(3000))")
    }

    @Test("five concurrent migrate on a fresh database all succeed, and each migration is applied once")
    func concurrentMigrate() async throws {
        let admin = try await PostgresConnection.connect(try TestDatabase.adminURL())
        let name = "cae_migrate_\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000)"
        try await admin.execute("CREATE DATABASE \(name)")
        let url = TestDatabase.url(try TestDatabase.adminURL(), database: name)
        let results = try await withThrowingTaskGroup(of: (status: Int32, stdout: String, stderr: String).self) { group in
            for _ in 0..<5 { group.addTask { try await CLI.run(["migrate"], database: url) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for result in results { #expect(result.status == 0, "\(result.stderr)") }
        #expect(results.filter { $0.stdout.contains("applied V1") }.count == 1, "\(results.map(\.stdout))")
        #expect(try await sql("SELECT count(*) FROM cae_schema_migration WHERE version = 1", database: url).scalar() == "1")
    }

    @Test("the heartbeat and the pre-manifest check asking at once share one store connection")
    func claimKeeperConnectsOnce() async throws {
        let database = try await TestDatabase.create("keeper")
        let initializer = "keeper-\(UInt32.random(in: 0...UInt32.max))"
        let claim = Claim(subscriptionId: "000000000000000000000000", key: "7e9030b3-40e9-4726-8d8c-9bfbadc59844", claimId: "7e9030b3-40e9-4726-8d8c-9bfbadc59844",
                          attempt: 1, initializer: initializer, sink: .null, filters: nil, initWithHistory: false)
        let keeper = ClaimKeeper(claim: claim, conninfo: database, lease: .seconds(10))
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { try await keeper.heartbeat() } }
            for try await held in group { #expect(held == false, "no such claim") }
        }
        let connections = try await sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", ["cae-init \(initializer) claim"], database: database)
        #expect(connections.scalar() == "1")
        await keeper.close()
    }

    @Test("a stored sink that is not an object, or sealed under an unknown key, fails the filter naming it")
    func storedSinkProblems() async throws {
        let database = try await TestDatabase.create("storedsink")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: [EndToEndTests.simpleEntite], initWithHistory: false), database: database, in: directory)
        try await sql("UPDATE cae_subscription SET sink = '\"not an object\"'::jsonb", database: database)
        let run = try await CLI.run(["run-once"], database: database)
        #expect(run.status == 1)
        var state = try await sql("SELECT status, message FROM cae_key_filter", database: database).first ?? []
        #expect(state[0] == "failed")
        #expect(state[1]?.contains("stored sink is a string, not an object") == true, "\(state)")

        try await sql(#"UPDATE cae_subscription SET sink = '{"type":"Azure Blob Storage","credentials":{"accountName":"a","accountKey":"cae-sealed:v1:0123456789abcdef:AAAA"},"options":{"containerName":"c"}}'::jsonb"#, database: database)
        try await CLI.succeed(["key-filters", "reset", "--subscription", id, EndToEndTests.simpleEntite], database: database)
        _ = try await CLI.run(["run-once"], database: database)
        state = try await sql("SELECT status, message FROM cae_key_filter", database: database).first ?? []
        #expect(state[0] == "failed")
        #expect(state[1]?.contains("sealed with secrets key 0123456789abcdef") == true, "\(state)")
    }

    @Test("a situation period whose reference date is not an integer fails the filter naming the column")
    func badReferenceDate() async throws {
        let database = try await TestDatabase.create("refdate")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-history.json")], database: database)
        try await sql("ALTER TABLE cae_situation_period ALTER COLUMN reference_date TYPE numeric", database: database)
        try await sql("UPDATE cae_situation_period SET reference_date = reference_date + 0.5", database: database)
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: [EndToEndTests.historyEntite], initWithHistory: true), database: database, in: directory)
        let run = try await CLI.run(["run-once"], database: database)
        #expect(run.status == 1)
        let state = try await filterStates(id, database: database)[EndToEndTests.historyEntite]
        #expect(state?.status == "failed")
        #expect(state?.message?.contains("column reference_date") == true, "\(String(describing: state))")
    }

    @Test("a malformed DATABASE_URL or DOSSIER_DATABASE_URL is refused without its password, and nothing is stored", arguments: [
        "postgresql://cae:S3cretPassw0rd@127.0.0.1/db?x=%zz", "postgresql://cae:S3cretPassw0rd@[::1", "postgresql://cae:S3cretPassw0rd%00@127.0.0.1/db",
    ])
    func malformedDatabaseURL(_ url: String) async throws {
        let status = try await CLI.run(["status"], database: url)
        #expect(status.status != 0)
        #expect(status.stderr.contains("malformed"), "\(status.stderr)")
        #expect(!status.stderr.contains("S3cretPassw0rd"))

        let database = try await TestDatabase.create("dossierurl")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = try await createSubscription(localSubscription(path: directory.file("out"), keys: [EndToEndTests.simpleEntite], initWithHistory: false), database: database, in: directory)
        let run = try await CLI.run(["run-once"], database: database, environment: ["DOSSIER_DATABASE_URL": url])
        #expect(run.status != 0)
        #expect(!run.stderr.contains("S3cretPassw0rd") && !run.stdout.contains("S3cretPassw0rd"))
        #expect(try await sql("SELECT status || coalesce(message, '') FROM cae_key_filter", database: database).scalar() == "new", "nothing stored")
    }

    @Test("fixtures load good.json bad.json, bad refused by PostgreSQL or by validation: nothing is loaded, the field is named")
    func fixturesLoadAllOrNothing() async throws {
        let database = try await TestDatabase.create("fixtures")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let entite = "5a1e0000-0000-4000-8000-000000000001"
        let journal = { (libelle: String) in #"{"entite_id":"\#(entite)","journals":[{"id":"1a000000-0000-4000-8000-000000000001","application_id":null,"code":"OD","libelle":"\#(libelle)","compteContrepartie_id":null,"typeContrepartie":1,"type":2,"ferme":false,"validFrom":1,"validTo":0}]}"# }
        let nul = try directory.write("nul.json", journal(#"a\u0000b"#))
        let result = try await CLI.run(["fixtures", "load", fixturePath("dossier-simple.json"), nul], database: database)
        #expect(result.status == 1)
        #expect(result.stderr.contains("journals[0].libelle"), "\(result.stderr)")
        #expect(try await sql("SELECT count(*) FROM cae_journal", database: database).scalar() == "0")

        let ecriture = #"{"entite_id":"\#(entite)","ecritures":[{"id":"e1000000-0000-4000-8000-000000000001","application_id":null,"journal_id":null,"dateEcriture":1,"numeroPiece":"1","libelle":"x","lignes":[{"compte_id":null,"libelle":"l","debit":1e131073,"credit":0}],"validFrom":1,"validTo":0}]}"#
        let overflow = try directory.write("overflow.json", ecriture)
        let second = try await CLI.run(["fixtures", "load", fixturePath("dossier-simple.json"), overflow], database: database)
        #expect(second.status == 1)
        #expect(second.stderr.contains("ecritures[0].lignes[0].debit"), "\(second.stderr)")
        #expect(try await sql("SELECT count(*) FROM cae_journal", database: database).scalar() == "0")
    }

    @Test("subscription text PostgreSQL cannot store is refused naming the field, before anything is stored", arguments: [
        (#""domain":"a\u0000b""#, "domain"),
        (#""domain":"d","applicationId":"a\u0000b""#, "applicationId"),
        (#""domain":"d","topics":["t\u0000"]"#, "topics[0]"),
        (#""domain":"d","filters":{"type":"\u0000"}"#, "filters.type"),
        (#""domain":"d","filters":{"type":1e131073}"#, "filters.type"),
        (#""domain":"\#(String(repeating: "d", count: 2700))""#, "domain"),
    ])
    func unstorableSubscriptionText(_ fields: String, _ field: String) async throws {
        let database = try await TestDatabase.create("unstorable")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("s.json", #"{\#(fields),"sink":{"type":"Local Directory","credentials":{},"options":{"path":"/tmp/x"}}}"#)
        let result = try await CLI.run(["subscriptions", "create", "--file", file], database: database)
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(field):"), "\(result.stderr)")
        #expect(!result.stderr.contains("PostgreSQL queryFailed") && !result.stderr.contains("[22"), "no raw SQLSTATE: \(result.stderr)")
        #expect(try await sql("SELECT count(*) FROM cae_subscription", database: database).scalar() == "0")
    }

    @Test("worker options out of range are refused naming the option", arguments: [
        (["--lease-seconds", "1e13"], "--lease-seconds"), (["--lease-seconds", "0.5"], "--lease-seconds"),
        (["--log-level", "bogus"], "--log-level"), (["--name", ""], "--name"),
        (["--max-writes-per-second", "0"], "--max-writes-per-second"), (["--concurrency", "0"], "--concurrency"),
        (["--sink-audit-log", "/proc/cae-init-nope/audit.log"], "--sink-audit-log"),
        (["--spool-dir", ""], "--spool-dir"), (["--spool-dir", "/proc/cae-init-nope/spool"], "--spool-dir"),
        (["--read-batch-size", "0"], "--read-batch-size"), (["--local-writer-threads", "0"], "--local-writer-threads"),
        (["--local-writer-threads", "257"], "--local-writer-threads"),
    ])
    func badWorkerOptions(_ arguments: [String], _ option: String) async throws {
        let database = try await TestDatabase.create("options")
        let result = try await CLI.run(["run-once"] + arguments, database: database)
        #expect(result.status != 0)
        #expect(result.stderr.contains(option), "\(result.stderr)")
    }

    @Test("lease and attempt boundaries: one second is a valid lease, just under is not; max-attempts 1 is valid, 0 is not")
    func optionBoundaries() throws {
        #expect(throws: Never.self) { try WorkerOptions(lease: .seconds(1)).validate() }
        #expect(throws: InvalidOption.self) { try WorkerOptions(lease: .milliseconds(999)).validate() }
        #expect(throws: Never.self) { try WorkerOptions(lease: .seconds(86_400)).validate() }
        #expect(throws: InvalidOption.self) { try WorkerOptions(lease: .seconds(86_401)).validate() }
        #expect(throws: Never.self) { try WorkerOptions(maxAttempts: 1).validate() }
        #expect(throws: InvalidOption.self) { try WorkerOptions(maxAttempts: 0).validate() }
        #expect(throws: Never.self) { try WorkerOptions(initialiser: .init(maxWritesPerSecond: 0.001)).validate() }
        #expect(throws: InvalidOption.self) { try WorkerOptions(initialiser: .init(maxWritesPerSecond: 0.0009)).validate() }
        #expect(throws: Never.self) { try WorkerOptions(initialiser: .init(localWriterThreads: 1)).validate() }
        #expect(throws: InvalidOption.self) { try WorkerOptions(initialiser: .init(localWriterThreads: 0)).validate() }
        #expect(throws: Never.self) { try WorkerOptions(initialiser: .init(localWriterThreads: 256)).validate() }
        #expect(throws: InvalidOption.self) { try WorkerOptions(initialiser: .init(localWriterThreads: 257)).validate() }
        #expect(throws: Never.self) { try WorkerOptions(initialiser: .init(spoolDirectory: "/tmp/spool")).validate() }
        #expect(throws: InvalidOption.self) { try WorkerOptions(initialiser: .init(spoolDirectory: "")).validate() }
    }
}

/// Issue 7: a storage endpoint whose error message echoes the request headers (the session token among them):
/// the filter's message, the CLI's output and the worker's log hold no secret.
@Suite("Secrets echoed by an endpoint, end to end")
struct EchoedSecretTests {
    @Test("an S3 endpoint echoing x-amz-security-token: the failed filter's message and the logs hold only its masked form")
    func echoedSessionToken() async throws {
        let database = try await TestDatabase.create("echo")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "403", "echo"])
        defer { server.stop() }
        let token = "FQoGZXIvYXdzEBYaDECHOEDSESSIONTOKEN"
        let secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYECHOKEY"
        let body = #"{"domain":"d","keyFilters":[{"key":"\#(EndToEndTests.simpleEntite)"}],"sink":{"type":"AWS S3","credentials":{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"\#(secret)","region":"us-east-1","sessionToken":"\#(token)"},"options":{"bucketName":"b","endpoint":"http://127.0.0.1:\#(server.port)"}}}"#
        _ = try await createSubscription(body, database: database, in: directory)
        let run = try await CLI.run(["run-once"], database: database, environment: ["LOG_LEVEL": "debug"])
        #expect(run.status == 1)
        let message = try await sql("SELECT message FROM cae_key_filter", database: database).scalar() ?? ""
        #expect(message.contains("403"), "the endpoint's refusal reached the message: \(message)")
        #expect(message.contains(Secret.mask(token)), "the echo is there, masked: \(message)")
        for text in [message, run.stdout, run.stderr] {
            #expect(!text.contains(token) && !text.contains(secret))
        }
    }
}
