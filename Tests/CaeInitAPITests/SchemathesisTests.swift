import CaeInitCore
import CaeInitTestSupport
import Foundation
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
        // Existing subscriptions, so that generated ids are not the only ones tried.
        for domain in ["d1", "d2"] { _ = try await server.create(s3Subscription(domain: domain, keys: [randomUUID()]), key: key) }

        let openapi = try await server.get("/openapi.json", key: nil)
        #expect(openapi.status == 200)
        #expect(openapi.json["openapi"] == "3.1.0")

        let report = NSTemporaryDirectory() + "cae-init-schemathesis-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: report) }
        let result = try await ChildProcess.run("schemathesis", [
            "run", "\(server.baseURL)/openapi.json",
            "--header", "x-apikey: \(key)",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "15",
            "--max-time", "120",
            "--seed", "8",
            "--workers", "2",
            "--request-timeout", "10",
            "--no-color",
            "--report-dir", report,
        ], environment: ["SCHEMATHESIS_HOOKS": ""])
        #expect(result.status == 0, "schemathesis found problems:\n\(result.stdout.suffix(12_000))\n\(result.stderr.suffix(2000))")
        #expect(result.stdout.contains("passed") || result.stdout.contains("Passed"), "\(result.stdout.suffix(3000))")
        #expect(await server.stop() == 0)
        #expect(!server.log.contains("status=500"), "no 500 in the server log")
    }
}
