import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 9: a pending filter's report carries its progress, refreshed with the heartbeat; `status` shows it with a
/// rate and an estimated end; `run-once` draws it (redrawn lines on a terminal, plain lines otherwise).
@Suite("Progress of a running initialisation", .serialized)
struct ProgressTests {
    static let entite = "7e9030b3-40e9-4726-8d8c-9bfbadc59844"

    /// A database with the history fixture and one subscription (with history) on it; the total the progress must
    /// show: every version of the dossier, current and history rows.
    static func setUp(_ directory: TemporaryDirectory) async throws -> (database: String, subscription: String, total: Int) {
        let database = try await TestDatabase.create("progress")
        try await CLI.succeed(["migrate"], database: database)
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-history.json")], database: database)
        let id = try await createSubscription(localSubscription(path: directory.file("out"), keys: [entite], initWithHistory: true), database: database, in: directory)
        let tables = ["journal", "compte", "ecriture"].flatMap { ["cae_\($0)", "cae_\($0)_history"] }
        let count = tables.map { "(SELECT count(*) FROM \($0) WHERE entite_id = $1::uuid)" }.joined(separator: " + ")
        let total = try await sql("SELECT \(count)", [entite], database: database).decode(Int.self).first ?? 0
        return (database, id, total)
    }

    @Test("status shows a pending filter's progress from its heartbeats, with a rate and an estimated end")
    func statusShowsProgress() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (database, id, total) = try await Self.setUp(directory)
        #expect(total > 12)
        // 12 files at 2 per second: about 6 s, heartbeats every second; long enough for a `status` to land in it
        // when each one takes a second on a loaded machine.
        let worker = try CLI.start(["run-once", "--lease-seconds", "3", "--max-writes-per-second", "2"], database: database)
        var seen: String?
        for _ in 0..<100 {
            let status = try await CLI.succeed(["status"], database: database)
            if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("pending") && $0.contains("progress") }) {
                seen = String(line)
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let report = try await filterStates(id, database: database)[Self.entite]?.report
        #expect(await worker.waitForExit(within: 60) == 0)
        let line = try #require(seen, "no progress in `status` while the filter was pending")
        #expect(line.contains("\(id)/\(Self.entite)"))
        #expect(line.contains(try Regex(#"progress \d+/\#(total) \(\d+%\)"#)), "\(line)")
        #expect(line.contains("/s"), "\(line)")
        #expect(line.contains(/estimated end \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/), "\(line)")
        // The stored report itself, read while pending (or, if the run already ended, its final report).
        if let progress = report?["progress"] {
            #expect(progress["total"] == .number(String(total)))
            #expect(report?["locked"] == .bool(true))
        }
        #expect(try await filterStates(id, database: database)[Self.entite]?.report?["progress"] == nil)
    }

    @Test("a malformed progress in a pending report does not break status")
    func malformedProgressIsIgnored() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (database, id, _) = try await Self.setUp(directory)
        _ = try await sql("""
            UPDATE cae_key_filter SET status = 'pending', initializer = 'elsewhere', attempt = 1, claim_id = gen_random_uuid(),
                   lease_expires_at = now() + interval '1 hour',
                   report = '{"locked": true, "progress": {"written": "many", "total": 1e99, "startedAt": -1, "updatedAt": 5}}'
            WHERE subscription_id = $1
            """, [id], database: database)
        let status = try await CLI.succeed(["status"], database: database)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("pending") && $0.contains(id) })
        #expect(!line.contains("progress"), "\(line)")
        #expect(line.contains("by elsewhere attempt 1"))
    }

    @Test("run-once prints plain progress lines when stdout is not a terminal")
    func plainLinesWhenNotATerminal() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (database, id, total) = try await Self.setUp(directory)
        let run = try await CLI.run(["run-once", "--max-writes-per-second", "4", "--progress-every", "0.5"], database: database)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        let progress = lines.filter { $0.hasPrefix("progress  \(id)/\(Self.entite): ") }
        #expect(progress.count >= 1, "\(run.stdout)")
        #expect(progress.allSatisfy { $0.contains("/\(total) (") }, "\(run.stdout)")
        #expect(!run.stdout.contains("\u{1B}["), "no terminal control sequences in a pipe")
        #expect(lines.last == "run-once: 1 ready, 0 failed")
    }

    @Test("run-once with --progress-every 0 prints no progress when not a terminal")
    func noPlainLinesWhenTurnedOff() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (database, _, _) = try await Self.setUp(directory)
        let run = try await CLI.run(["run-once", "--max-writes-per-second", "4", "--progress-every", "0"], database: database)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stdout.contains("progress"), "\(run.stdout)")
    }

    @Test("run-once on a terminal redraws one progress line per dossier in place, then prints the outcome")
    func redrawnLineOnATerminal() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (database, id, total) = try await Self.setUp(directory)
        // python3's pty.spawn gives the CLI a terminal as stdout and copies what it draws to ours.
        let run = try await ChildProcess.run(
            "/usr/bin/env",
            ["python3", "-c", "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)", try CLI.executable(), "run-once", "--max-writes-per-second", "4"],
            environment: ["DATABASE_URL": database, "LOG_LEVEL": "warning"]
        )
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\u{1B}[2Kprogress  \(id)/\(Self.entite): "), "\(run.stdout.debugDescription)")
        #expect(run.stdout.contains("/\(total) ("))
        // Redrawn: the cursor goes back up over the line before the next drawing or the outcome.
        #expect(run.stdout.contains("\u{1B}[1F\u{1B}[J"), "\(run.stdout.debugDescription)")
        #expect(run.stdout.contains(try Regex(#"\x{1B}\[1F\x{1B}\[Jready +\#(id)/\#(Self.entite)"#)), "\(run.stdout.debugDescription)")
    }
}
