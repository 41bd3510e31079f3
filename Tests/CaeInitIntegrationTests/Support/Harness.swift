import CaeInitCore
import CaeInitPostgres
import CaeInitTestSupport
import Foundation

/// The PostgreSQL server the suite runs against: `DATABASE_URL`, set by scripts/with-postgres.sh. Its absence
/// fails the tests: they never skip.
enum TestDatabase {
    static func adminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            throw TestFailure("DATABASE_URL is not set: run the suite with scripts/test.sh, which starts PostgreSQL")
        }
        return url
    }

    /// `url` with its database name replaced (URIs `postgresql://…/name` and `key=value` strings).
    static func url(_ url: String, database: String) -> String {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            let withoutQuery = url.split(separator: "?", maxSplits: 1).map(String.init)
            let base = withoutQuery[0]
            let schemeEnd = base.range(of: "://")!.upperBound
            let hostPart = base[schemeEnd...].split(separator: "/", maxSplits: 1)[0]
            return base[..<schemeEnd] + hostPart + "/" + database + (withoutQuery.count > 1 ? "?" + withoutQuery[1] : "")
        }
        return url + " dbname=\(database)"
    }

    /// A new, migrated database for one test.
    static func create(_ label: String = "t") async throws -> String {
        let admin = try await PostgresConnection.connect(try adminURL())
        let name = "cae_\(label)_\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
        try await admin.execute("CREATE DATABASE \(name)")
        let url = Self.url(try adminURL(), database: name)
        let result = try await CLI.run(["migrate"], database: url)
        guard result.status == 0 else { throw TestFailure("migrate failed: \(result.stderr)") }
        return url
    }
}

/// The `cae-init` executable built beside the test bundle.
enum CLI {
    /// `CAE_INIT_TEST_CLI` names another build of the CLI (e.g. an older commit's, to show a test failing before
    /// its fix); by default the one built beside the test bundle.
    static func executable() throws -> String {
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

    static func run(_ arguments: [String], database: String, environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run(try executable(), arguments, environment: ["DATABASE_URL": database, "LOG_LEVEL": "warning"].merging(environment) { $1 })
    }

    /// Runs and requires exit status 0.
    @discardableResult
    static func succeed(_ arguments: [String], database: String, environment: [String: String] = [:]) async throws -> String {
        let result = try await run(arguments, database: database, environment: environment)
        guard result.status == 0 else {
            throw TestFailure("cae-init \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)\(result.stdout)")
        }
        return result.stdout
    }

    static func start(_ arguments: [String], database: String, environment: [String: String] = [:]) throws -> ChildProcess {
        try ChildProcess(executable: try executable(), arguments: arguments, environment: ["DATABASE_URL": database, "LOG_LEVEL": "info"].merging(environment) { $1 })
    }
}

/// A file of the repository's `Fixtures/`.
func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/\(name)").path
}

/// A temporary directory removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "cae-init-it-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func write(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Every regular file below `sub`, by path relative to it, with its bytes.
    func files(under sub: String) -> [String: [UInt8]] {
        let root = file(sub)
        var result: [String: [UInt8]] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return result }
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = "\(root)/\(relative)"
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
               let data = FileManager.default.contents(atPath: full) {
                result[relative] = Array(data)
            }
        }
        return result
    }
}

/// A subscription body with a Local Directory sink.
func localSubscription(path: String, keys: [String], initWithHistory: Bool, folderName: String? = nil, filters: String? = nil, domain: String = "comptabilite") -> String {
    let keyFilters = keys.map { #"{"key":"\#($0)"}"# }.joined(separator: ",")
    let folder = folderName.map { #","folderName":"\#($0)""# } ?? ""
    let filtersField = filters.map { #","filters":\#($0)"# } ?? ""
    return #"{"domain":"\#(domain)","applicationId":"tests","keyFilters":[\#(keyFilters)],"sink":{"type":"Local Directory","credentials":{},"options":{"path":"\#(path)"\#(folder)}},"topics":["queuing.cpa.comptabilite"],"initWithHistory":\#(initWithHistory)\#(filtersField)}"#
}

/// Creates a subscription through the CLI; returns its id.
func createSubscription(_ body: String, database: String, in directory: TemporaryDirectory) async throws -> String {
    let file = try directory.write("subscription-\(UInt32.random(in: 0...UInt32.max)).json", body)
    let output = try await CLI.succeed(["subscriptions", "create", "--file", file], database: database)
    guard let id = try JSONValue.parse(output).objectValue?["id"]?.stringValue else { throw TestFailure("no id in \(output)") }
    return id
}

/// The subscription document as `subscriptions show` prints it.
func showSubscription(_ id: String, database: String) async throws -> JSONValue {
    try JSONValue.parse(try await CLI.succeed(["subscriptions", "show", id], database: database))
}

/// key → status, message, report of a subscription's filters.
func filterStates(_ id: String, database: String) async throws -> [String: (status: String, message: String?, report: JSONValue?)] {
    let document = try await showSubscription(id, database: database)
    var states: [String: (String, String?, JSONValue?)] = [:]
    for filter in document.objectValue?["keyFilters"]?.arrayValue ?? [] {
        let object = filter.objectValue!
        states[object["key"]!.stringValue!] = (object["status"]!.stringValue!, object["message"]?.stringValue, object["report"])
    }
    return states
}

/// Runs SQL directly, for setting up states the CLI refuses to create.
func sql(_ statement: String, _ parameters: [String?] = [], database: String) async throws -> PostgresRows {
    let connection = try await PostgresConnection.connect(database)
    return try await connection.query(statement, parameters)
}
