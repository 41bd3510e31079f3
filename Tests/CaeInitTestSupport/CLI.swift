import Foundation

/// The `cae-init` executable built beside the test bundle.
public enum CLI {
    /// `CAE_INIT_TEST_CLI` names another build of the CLI (e.g. an older commit's, to show a test failing before
    /// its fix); by default the one built beside the test bundle.
    public static func executable() throws -> String {
        if let other = ProcessInfo.processInfo.environment["CAE_INIT_TEST_CLI"], !other.isEmpty { return other }
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var directory = bundle
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("cae-init").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestFailure("cae-init not built beside \(bundle.path): run `swift build` before `swift test` (scripts/test.sh does)")
    }

    public static func run(_ arguments: [String], database: String, environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run(try executable(), arguments, environment: ["DATABASE_URL": database, "LOG_LEVEL": "warning"].merging(environment) { $1 })
    }

    /// Runs and requires exit status 0.
    @discardableResult
    public static func succeed(_ arguments: [String], database: String, environment: [String: String] = [:]) async throws -> String {
        let result = try await run(arguments, database: database, environment: environment)
        guard result.status == 0 else {
            throw TestFailure("cae-init \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)\(result.stdout)")
        }
        return result.stdout
    }

    public static func start(_ arguments: [String], database: String, environment: [String: String] = [:]) throws -> ChildProcess {
        try ChildProcess(executable: try executable(), arguments: arguments, environment: ["DATABASE_URL": database, "LOG_LEVEL": "info"].merging(environment) { $1 })
    }
}

/// A file of the repository's `Fixtures/`.
public func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/\(name)").path
}

