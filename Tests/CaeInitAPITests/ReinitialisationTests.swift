import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 8: an HTTP request is what starts an initialisation — creating a subscription, or putting a `ready` key
/// filter back to `new`.
@Suite("Initialisation through the API")
struct ReinitialisationTests {
    static let dossier = "3b7c6a52-9f1e-4d2a-8c3b-5e6f7a8b9c0d"

    @Test("PUT /key-filters with status new on a ready filter, then a worker run: ready again with a newer processedDate")
    func reinitialise() async throws {
        let database = try await TestDatabase.create()
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-simple.json")], database: database)
        let key = try await CLI.createKey("partner", domains: ["comptabilite"], database: database)
        let server = try await APIServer(database: database)
        let id = try await server.create(localSubscription(path: directory.file("out"), keys: [Self.dossier]), key: key).string("id")

        let first = try await CLI.run(["run-once"], database: database)
        #expect(first.status == 0, "\(first.stderr)")
        let ready = try await server.get("/subscriptions/\(id)", key: key).json["keyFilters"]?.arrayValue?.first ?? .null
        #expect(ready["status"] == "ready")
        #expect(ready["message"] == "success")
        let firstDate = try #require(ready["report"]?["processedDate"]?.stringValue)
        let manifest = directory.file("out/_manifests/\(id)/\(Self.dossier).json")
        #expect(FileManager.default.fileExists(atPath: manifest))
        try FileManager.default.removeItem(atPath: manifest)

        // Millisecond timestamps: make sure the second run cannot share the first one's millisecond.
        try await Task.sleep(for: .milliseconds(20))
        let reset = try await server.put("/key-filters?id=\(id)", key: key, #"[{"key":"\#(Self.dossier)","status":"new"}]"#)
        #expect(reset.status == 200)
        #expect(reset.json.arrayValue?.first?["status"] == "new")
        #expect(reset.json.arrayValue?.first?["report"] == .null)

        let second = try await CLI.run(["run-once"], database: database)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("1 ready"))
        let again = try await server.get("/subscriptions/\(id)", key: key).json["keyFilters"]?.arrayValue?.first ?? .null
        #expect(again["status"] == "ready")
        let secondDate = try #require(again["report"]?["processedDate"]?.stringValue)
        // ISO-8601 UTC with milliseconds, fixed width: text order is time order.
        #expect(secondDate.count == firstDate.count && secondDate > firstDate, "\(firstDate) → \(secondDate)")
        #expect(FileManager.default.fileExists(atPath: manifest), "the dossier was written again")
        #expect(await server.stop() == 0)
    }

    @Test("serve --worker: a subscription created over HTTP goes new → ready in the same process, and a PUT re-initialises it")
    func serveWithWorker() async throws {
        let database = try await TestDatabase.create()
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-simple.json")], database: database)
        let key = try await CLI.createKey("partner", domains: [], database: database)
        let server = try await APIServer(database: database, extraArguments: ["--allow-local-directory-sinks", "--worker", "--poll-interval-ms", "200", "--name", "api-worker"])
        let created = try await server.create(localSubscription(path: directory.file("out"), keys: [Self.dossier]), key: key)
        #expect(created["keyFilters"]?.arrayValue?.first?["status"] == "new")
        let id = try created.string("id")

        func waitForReady(after previous: String?) async throws -> JSONValue {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let filter = try await server.get("/subscriptions/\(id)", key: key).json["keyFilters"]?.arrayValue?.first ?? .null
                if filter["status"] == "ready", filter["report"]?["processedDate"]?.stringValue != previous { return filter }
                #expect(filter["status"] != "failed", "\(filter)")
                try await Task.sleep(for: .milliseconds(100))
            }
            throw TestFailure("the filter did not become ready: \(server.log)")
        }
        let ready = try await waitForReady(after: nil)
        #expect(ready["initializer"] == "api-worker")
        let firstDate = ready["report"]?["processedDate"]?.stringValue
        #expect(try await server.put("/key-filters?id=\(id)", key: key, #"{"keyFilters":[{"key":"\#(Self.dossier)","status":"new"}]}"#).status == 200)
        let again = try await waitForReady(after: firstDate)
        #expect((again["report"]?["processedDate"]?.stringValue ?? "") > (firstDate ?? "~"))
        // The worker's metrics and the API's share the process's /metrics.
        let metrics = try await server.get("/metrics", key: nil).body
        #expect(metrics.contains("cae_api_requests_total"))
        #expect(metrics.contains("cae_init_filters_ready_total 2"))
        #expect(await server.stop(within: 40) == 0)
    }
}
