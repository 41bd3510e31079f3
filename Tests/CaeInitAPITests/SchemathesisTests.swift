import CaeInitCore
import CaeInitTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Issue 8: the served `/openapi.json` describes what the server does. schemathesis (PyPI, installed by
/// scripts/install-deps.sh) generates valid and invalid requests from it against a live server with a valid key:
/// no 5xx, and no status, content type, header or body the document does not allow.
@Suite("OpenAPI document checked by schemathesis")
struct SchemathesisTests {
    @Test("schemathesis: no server error, no response contradicting /openapi.json")
    func schemathesis() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("schemathesis", domains: [], database: database)
        let server = try await APIServer(database: database, extraArguments: [])
        // Real subscriptions: every `id` schemathesis sends names one (another one for DELETE /subscriptions), so
        // that generated bodies reach the validation and the store instead of stopping at 404.
        let target = try await server.create(s3Subscription(domain: "d1", keys: [randomUUID()]), key: key).string("id")
        let deleted = try await server.create(s3Subscription(domain: "d2"), key: key).string("id")

        let openapi = try await server.get("/openapi.json", key: nil)
        #expect(openapi.status == 200)
        #expect(openapi.json["openapi"] == "3.1.0")

        let work = NSTemporaryDirectory() + "cae-init-schemathesis-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try """
            [parameters]
            "query.id" = "\(target)"
            "path.id" = "\(target)"

            [[operations]]
            include-path = "/subscriptions"
            include-method = "DELETE"
            parameters = { "query.id" = "\(deleted)" }
            """.write(toFile: work + "/schemathesis.toml", atomically: true, encoding: .utf8)
        // Bounded by the examples per operation (about 30 s here); one worker (hypothesis is not thread-safe on
        // every Python), a fixed seed.
        let process = try ChildProcess(executable: "schemathesis", arguments: [
            "--config-file", work + "/schemathesis.toml",
            "run", "\(server.baseURL)/openapi.json",
            "--header", "x-apikey: \(key)",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "15",
            "--seed", "8",
            "--workers", "1",
            "--request-timeout", "10",
            "--no-color",
            "--generation-database", "none",
            "--report-dir", work + "/report",
        ])
        let status = await process.waitForExit(within: 300)
        if status == nil { process.signal(SIGKILL) }
        let output = process.standardOutput
        #expect(status == 0, "schemathesis found problems (or ran over 300 s):\n\(output.suffix(12_000))\n\(process.standardError.suffix(2000))")
        #expect(output.contains(" passed"), "\(output.suffix(3000))")
        #expect(!output.contains(" failed"), "\(output.suffix(3000))")
        #expect(await server.stop() == 0)
        #expect(!server.log.contains("status=500"), "no 500 in the server log")
    }
}
