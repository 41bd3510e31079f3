import AsyncHTTPClient
import CaeInitCore
import CaeInitPostgres
import CaeInitTestSupport
import Foundation
import NIOCore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#endif

extension CLI {
    /// Creates an API key; returns the key printed once.
    static func createKey(_ name: String, domains: [String], database: String) async throws -> String {
        let scope = domains.isEmpty ? ["--all-domains"] : domains.flatMap { ["--domain", $0] }
        let key = try await succeed(["api-keys", "create", "--name", name] + scope, database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard key.hasPrefix("caek_") else { throw TestFailure("unexpected key output: \(key.prefix(8))…") }
        return key
    }
}

/// A file of the test target's `Data/` (copied from Cegid's documentation) or of the repository's `Fixtures/`.
func dataPath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Data/\(name)").path
}

/// One HTTP answer: status, headers, body bytes and, when it is JSON, the parsed body.
struct HTTPAnswer {
    let status: Int
    let headers: HTTPHeaders
    let body: String
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }

    /// The `field` of an error answer.
    var field: String? { json["field"]?.stringValue }
    var errorCode: String? { json["error"]?.stringValue }
}

/// A `cae-init serve` child process on a free port of 127.0.0.1, with the real store, spoken to over real HTTP.
final class APIServer: @unchecked Sendable {
    let database: String
    let port: Int
    let process: ChildProcess
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts `cae-init serve` (Local Directory sinks allowed unless told otherwise) and waits for `/health`.
    init(database: String, extraArguments: [String] = ["--allow-local-directory-sinks"]) async throws {
        self.database = database
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try ServerProcess.freePort()
            let process = try ChildProcess(
                executable: try CLI.executable(),
                arguments: ["serve", "--host", "127.0.0.1", "--port", String(port)] + extraArguments,
                environment: ["DATABASE_URL": database, "LOG_LEVEL": "info"]
            )
            let deadline = Date().addingTimeInterval(30)
            var up = false
            while Date() < deadline {
                if await process.waitForExit(within: 0.05) != nil { break }
                if ServerProcess.accepts(port: port) { up = true; break }
            }
            if up {
                self.port = port
                self.process = process
                return
            }
            lastError = TestFailure("cae-init serve did not start on port \(port): \(process.standardError)")
            process.signal(SIGKILL)
            await process.waitForExit()
        }
        throw lastError ?? TestFailure("cae-init serve did not start")
    }

    /// SIGTERM, then the exit status (nil when it did not exit within `seconds`).
    func stop(within seconds: Double = 15) async -> Int32? {
        process.signal(SIGTERM)
        return await process.waitForExit(within: seconds)
    }

    var log: String { process.standardError }

    func request(_ method: HTTPMethod, _ path: String, key: String?, body: String? = nil, contentType: String? = "application/json", headers extra: [(String, String)] = []) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let key { request.headers.add(name: "x-apikey", value: key) }
        if let body {
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(string: body))
        }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        var buffer = try await response.body.collect(upTo: 16 << 20)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: buffer.readString(length: buffer.readableBytes) ?? "")
    }

    func get(_ path: String, key: String?) async throws -> HTTPAnswer { try await request(.GET, path, key: key) }
    func post(_ path: String, key: String?, _ body: String) async throws -> HTTPAnswer { try await request(.POST, path, key: key, body: body) }
    func put(_ path: String, key: String?, _ body: String) async throws -> HTTPAnswer { try await request(.PUT, path, key: key, body: body) }
    func delete(_ path: String, key: String?, _ body: String? = nil) async throws -> HTTPAnswer { try await request(.DELETE, path, key: key, body: body) }

    /// Creates a subscription through the API; fails unless 201. Returns the document.
    func create(_ body: String, key: String) async throws -> JSONValue {
        let answer = try await post("/subscriptions", key: key, body)
        guard answer.status == 201 else { throw TestFailure("create: \(answer.status) \(answer.body)") }
        return answer.json
    }
}

/// A creation body with an AWS S3 sink (nothing is written: no worker runs against it).
func s3Subscription(domain: String = "comptabilite", keys: [String] = [], secret: String = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", extra: String = "") -> String {
    let filters = keys.map { #"{"key":"\#($0)"}"# }.joined(separator: ",")
    return #"{"domain":"\#(domain)","applicationId":"tests","keyFilters":[\#(filters)],"sink":{"type":"AWS S3","credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"\#(secret)","region":"eu-west-3"},"options":{"bucketName":"cegid-loop","folderName":"entite_id"}},"topics":["queuing.cpa.comptabilite"]\#(extra)}"#
}

/// A creation body with a Local Directory sink.
func localSubscription(path: String, keys: [String], domain: String = "comptabilite") -> String {
    let filters = keys.map { #"{"key":"\#($0)"}"# }.joined(separator: ",")
    return #"{"domain":"\#(domain)","applicationId":"tests","keyFilters":[\#(filters)],"sink":{"type":"Local Directory","credentials":{},"options":{"path":"\#(path)"}},"topics":["queuing.cpa.comptabilite"]}"#
}

/// Runs SQL directly, to look at what is stored or set up states the API refuses to create.
func sql(_ statement: String, _ parameters: [String?] = [], database: String) async throws -> PostgresRows {
    let connection = try await PostgresConnection.connect(database)
    return try await connection.query(statement, parameters)
}

func randomUUID() -> String { UUID().uuidString.lowercased() }

/// A temporary directory removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "cae-init-api-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
