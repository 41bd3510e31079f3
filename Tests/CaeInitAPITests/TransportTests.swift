import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 8: JSON in and out — 415, 413 at 1 MiB, 400 for what is not JSON, 404/405 for unknown routes, request
/// logs without keys or secrets, /metrics by route and status, graceful shutdown, the connection pool.
@Suite("HTTP transport, logs, metrics, pool")
struct TransportTests {
    @Test("a body not sent as JSON is 415; over 1 MiB is 413 (exactly 1 MiB is accepted); an empty one is 400")
    func bodies() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        let id = try await server.create(s3Subscription(), key: key).string("id")

        for type in ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"] {
            let answer = try await server.request(.POST, "/subscriptions", key: key, body: s3Subscription(), contentType: type)
            #expect(answer.status == 415, "\(type)")
            #expect(answer.errorCode == "unsupported_media_type")
        }
        #expect(try await server.request(.POST, "/filters?id=\(id)", key: key, body: "{}", contentType: nil).status == 415)
        #expect(try await server.request(.POST, "/filters?id=\(id)", key: key, body: "{}", contentType: "application/json; charset=utf-8").status == 200)
        #expect(try await server.request(.POST, "/filters?id=\(id)", key: key, body: "{}", contentType: "Application/JSON").status == 200)
        let empty = try await server.request(.POST, "/filters?id=\(id)", key: key, body: "", contentType: "application/json")
        #expect(empty.status == 400)
        #expect(empty.errorCode == "missing_body")

        // {"v":"xxx…"} padded with spaces to exactly 1 MiB, then one byte more.
        let limit = 1 << 20
        let value = #"{"v":""# + String(repeating: "x", count: 1000) + #""}"#
        let exact = value + String(repeating: " ", count: limit - value.utf8.count)
        #expect(exact.utf8.count == limit)
        let accepted = try await server.post("/filters?id=\(id)", key: key, exact)
        #expect(accepted.status == 200, "\(accepted.body.prefix(200))")
        let over = try await server.post("/filters?id=\(id)", key: key, exact + " ")
        #expect(over.status == 413)
        #expect(over.errorCode == "payload_too_large")
        let huge = try await server.post("/subscriptions", key: key, String(repeating: " ", count: 3 * limit))
        #expect(huge.status == 413)
        #expect(await server.stop() == 0)
    }

    @Test("unknown routes are 404 and known routes with another method 405, both JSON; nothing a client sends is a 500")
    func routes() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)

        let unknown = try await server.get("/nothing-here", key: key)
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "not_found")
        let wrongMethod = try await server.request(.PATCH, "/subscriptions", key: key, body: "{}")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers["Allow"].first?.contains("POST") == true)
        #expect(try await server.request(.PUT, "/suspended?id=x", key: key).status == 405)

        // Hostile input: never a 500.
        let hostile: [(String, String)] = [
            ("/subscriptions?id=%00", ""), ("/subscriptions?domain=a%00b", ""), ("/filters?id=%ZZ", ""),
            ("/subscriptions?topic=" + String(repeating: "t", count: 5000), ""),
        ]
        for (path, _) in hostile {
            let answer = try await server.get(path, key: key)
            #expect(answer.status < 500, "\(path): \(answer.status)")
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        for body in [deep, "\u{FEFF}{}", "{\"a\":1,\"a\":2}", "{\"domain\":\"\\ud800\"}", "nul", "1e999999", #"{"domain":"d","sink":{"type":"AWS S3","credentials":{"accessKeyId":"a","secretAccessKey":"b","region":"r"},"options":{"bucketName":"b"},"retryPolicy":{"maxRetries":1e400}}}"#] {
            let answer = try await server.post("/subscriptions", key: key, body)
            #expect(answer.status == 400, "\(body.prefix(60)): \(answer.status) \(answer.body.prefix(200))")
        }
        #expect(await server.stop() == 0)
    }

    @Test("request logs: method, route, status, duration, key name — never a key or a secret; /metrics counts by route and status")
    func logsAndMetrics() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("partner-42", domains: [], database: database)
        let server = try await APIServer(database: database)
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let id = try await server.create(s3Subscription(secret: secret), key: key).string("id")
        _ = try await server.get("/subscriptions/\(id)", key: key)
        _ = try await server.get("/subscriptions/\(id)", key: key)
        _ = try await server.get("/subscriptions/ffffffffffffffffffffffff", key: key)
        _ = try await server.get("/subscriptions", key: "caek_wrong")
        _ = try await server.post("/sink?id=\(id)", key: key, #"{"type":"AWS S3","credentials":{"accessKeyId":"a","secretAccessKey":"another-secret-value","region":"r"},"options":{"bucketName":"b"}}"#)

        let metrics = try await server.get("/metrics", key: nil)
        #expect(metrics.status == 200)
        let lines = metrics.body.split(separator: "\n")
        func count(route: String, method: String, status: Int) -> Int? {
            lines.first { $0.hasPrefix("cae_api_requests_total{") && $0.contains("route=\"\(route)\"") && $0.contains("method=\"\(method)\"") && $0.contains("status=\"\(status)\"") }
                .flatMap { Int($0.split(separator: " ").last ?? "") }
        }
        #expect(count(route: "/subscriptions/{id}", method: "GET", status: 200) == 2, "\(metrics.body)")
        #expect(count(route: "/subscriptions/{id}", method: "GET", status: 404) == 1)
        #expect(count(route: "/subscriptions", method: "POST", status: 201) == 1)
        #expect(count(route: "/subscriptions", method: "GET", status: 401) == 1)
        #expect(metrics.body.contains("cae_api_request_duration_seconds"))

        #expect(await server.stop() == 0, "SIGTERM stops the server gracefully")
        let log = server.log
        let requestLines = log.split(separator: "\n").filter { $0.contains("request") && $0.contains("route=") }
        #expect(requestLines.count >= 6, "\(log)")
        #expect(requestLines.contains { $0.contains("method=GET") && $0.contains("route=/subscriptions/{id}") && $0.contains("status=200") && $0.contains("key=partner-42") && $0.contains("duration_ms=") })
        #expect(requestLines.contains { $0.contains("status=401") && !$0.contains("key=") })
        for forbidden in [key, "caek_wrong", secret, "another-secret-value", id] {
            #expect(!log.contains(forbidden), "the log must not contain \(forbidden.prefix(4))…")
        }
    }

    @Test("when the store is gone: /health and every request answer 503, never 500; the server still stops cleanly")
    func storeUnavailable() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        #expect(try await server.get("/health", key: nil).status == 200)
        let name = try #require(database.split(separator: "/").last.map(String.init))
        try await sql("DROP DATABASE \(name) WITH (FORCE)", database: try TestDatabase.adminURL())

        let health = try await server.get("/health", key: nil)
        #expect(health.status == 503)
        #expect(health.json == ["status": "unavailable", "database": "unreachable"])
        for answer in [try await server.get("/subscriptions", key: key), try await server.post("/subscriptions", key: key, s3Subscription())] {
            #expect(answer.status == 503)
            #expect(answer.errorCode == "unavailable")
        }
        #expect(await server.stop() == 0)
    }

    @Test("the pool serves concurrent requests with few connections, and drops connections the database broke")
    func pool() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database, extraArguments: ["--max-connections", "2"])
        let id = try await server.create(s3Subscription(keys: [randomUUID()]), key: key).string("id")

        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<60 {
                group.addTask {
                    i % 3 == 0
                        ? try await server.put("/key-filters?id=\(id)", key: key, #"[{"key":"\#(randomUUID())"}]"#).status
                        : try await server.get("/subscriptions/\(id)", key: key).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.count == 60 && statuses.allSatisfy { $0 == 200 })
        #expect(try await server.get("/subscriptions/\(id)", key: key).json["keyFilters"]?.arrayValue?.count == 21)
        let connections = try await sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cae-init-api' AND datname = current_database()", database: database)
        #expect((Int(connections.scalar() ?? "99") ?? 99) <= 2)

        // Kill the API's connections: requests answer 503 at worst, never 500, and the pool recovers.
        try await sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cae-init-api' AND datname = current_database()", database: database)
        var answers: [Int] = []
        for _ in 0..<6 { answers.append(try await server.get("/subscriptions/\(id)", key: key).status) }
        #expect(answers.allSatisfy { $0 == 200 || $0 == 503 }, "\(answers)")
        #expect(answers.suffix(3).allSatisfy { $0 == 200 }, "broken connections are dropped, not reused: \(answers)")
        #expect(await server.stop() == 0)
    }
}
