import CaeInitTestSupport
import Foundation

/// A PostgreSQL cluster of one test's own, which the test may stop and start (database faults) without
/// disturbing the other tests. Uses the binaries and user that scripts/with-postgres.sh exported.
final class PrivateCluster: @unchecked Sendable {
    let bin: String
    let user: String
    let directory: String
    let port: Int

    init() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let bin = environment["CAE_INIT_TEST_PGBIN"], let user = environment["CAE_INIT_TEST_PGUSER"] else {
            throw TestFailure("CAE_INIT_TEST_PGBIN/CAE_INIT_TEST_PGUSER are not set: run the suite with scripts/test.sh")
        }
        self.bin = bin
        self.user = user
        directory = NSTemporaryDirectory() + "cae-init-cluster-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try ServerProcess.freePort()
        _ = try await run("chown", [user, directory])
        try await asUser("\(bin)/initdb", ["-D", "\(directory)/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        try await start()
    }

    var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }

    func start() async throws {
        try await asUser("\(bin)/pg_ctl", ["-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-t", "60",
                                           "-o", "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
    }

    func stop() async throws {
        try await asUser("\(bin)/pg_ctl", ["-D", "\(directory)/data", "-m", "fast", "-w", "stop"])
    }

    func destroy() async {
        _ = try? await asUser("\(bin)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func asUser(_ executable: String, _ arguments: [String]) async throws {
        if getuid() == 0 {
            _ = try await run("runuser", ["-u", user, "--", executable] + arguments)
        } else {
            _ = try await run(executable, arguments)
        }
    }

    @discardableResult
    private func run(_ executable: String, _ arguments: [String]) async throws -> String {
        let result = try await ChildProcess.run(executable, arguments)
        guard result.status == 0 else { throw TestFailure("\(executable) \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return result.stdout
    }
}
