import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 8: keys scoped to domains — 401 without detail, another domain's subscription does not exist (404),
/// creating one there is 403.
@Suite("API keys and domains")
struct AuthenticationTests {
    @Test("a missing, wrong or revoked key gets the same 401; the public routes need none")
    func unauthorised() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("partner", domains: ["d1"], database: database)
        let server = try await APIServer(database: database)
        defer { _ = server }

        #expect(try await server.get("/subscriptions", key: key).status == 200)
        let missing = try await server.get("/subscriptions", key: nil)
        let wrong = try await server.get("/subscriptions", key: "caek_" + String(repeating: "0", count: 64))
        let garbage = try await server.get("/subscriptions", key: "hello")
        // Same key with one character changed: close is not enough.
        let near = try await server.get("/subscriptions", key: String(key.dropLast()) + (key.hasSuffix("0") ? "1" : "0"))
        try await CLI.succeed(["api-keys", "revoke", "partner"], database: database)
        let revoked = try await server.get("/subscriptions", key: key)
        let revokedWrite = try await server.post("/subscriptions", key: key, s3Subscription(domain: "d1"))
        for answer in [missing, wrong, garbage, near, revoked, revokedWrite] {
            #expect(answer.status == 401)
            #expect(answer.body == missing.body, "401 answers must not tell the cases apart")
        }
        #expect(missing.errorCode == "unauthorized")
        #expect(try await sql("SELECT count(*) FROM cae_subscription", database: database).scalar() == "0")

        #expect(try await server.get("/health", key: nil).status == 200)
        #expect(try await server.get("/openapi.json", key: nil).status == 200)
        #expect(try await server.get("/metrics", key: nil).status == 200)
        #expect(await server.stop() == 0)
        #expect(!server.log.contains(key), "the key must never be logged")
    }

    @Test("api-keys: create prints the key once, only its hash is stored; list never shows it; revoke; names unique")
    func keyCommands() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("alpha", domains: ["d1", "d2"], database: database)
        let all = try await CLI.createKey("ops", domains: [], database: database)
        // 256 random bits as hex, after the prefix: well over 128 bits.
        #expect(key.count == 5 + 64)
        #expect(key != all)
        let stored = try await sql("SELECT key_hash FROM cae_api_key ORDER BY name", database: database).rows.compactMap { $0[0] }
        #expect(stored.count == 2)
        #expect(!stored.contains { $0.contains(key.dropFirst(5)) || $0.contains(all.dropFirst(5)) })

        var list = try await CLI.succeed(["api-keys", "list"], database: database)
        #expect(list.contains("alpha\td1,d2\t"))
        #expect(list.contains("ops\t*\t"))
        #expect(list.contains("\tnever\t-"))
        #expect(!list.contains(key) && !list.contains(all))

        let server = try await APIServer(database: database)
        #expect(try await server.get("/subscriptions", key: key).status == 200)
        list = try await CLI.succeed(["api-keys", "list"], database: database)
        let alphaLine = list.split(separator: "\n").first { $0.hasPrefix("alpha\t") } ?? ""
        let alphaFields = alphaLine.split(separator: "\t").map(String.init)
        #expect(alphaFields.count == 5)
        #expect(alphaFields.count == 5 && alphaFields[3] != "never" && alphaFields[3].hasSuffix("Z"), "last used is set by a request: \(alphaLine)")

        let duplicate = try await CLI.run(["api-keys", "create", "--name", "alpha", "--domain", "d3"], database: database)
        #expect(duplicate.status != 0)
        #expect(duplicate.stderr.contains("already exists"))
        #expect(try await CLI.run(["api-keys", "create", "--name", "x"], database: database).status != 0)
        #expect(try await CLI.run(["api-keys", "create", "--name", "x", "--domain", "d", "--all-domains"], database: database).status != 0)
        #expect(try await CLI.run(["api-keys", "revoke", "nobody"], database: database).status != 0)
        try await CLI.succeed(["api-keys", "revoke", "alpha"], database: database)
        #expect(try await CLI.run(["api-keys", "revoke", "alpha"], database: database).status != 0, "already revoked")
        list = try await CLI.succeed(["api-keys", "list"], database: database)
        #expect(!(list.split(separator: "\n").first { $0.hasPrefix("alpha\t") } ?? "").hasSuffix("\t-"))
        #expect(try await server.get("/subscriptions", key: key).status == 401)
        #expect(try await server.get("/subscriptions", key: all).status == 200)
        _ = await server.stop()
    }

    @Test("a key sees and changes only its domains: another domain's subscription is 404, creating there 403")
    func domainScope() async throws {
        let database = try await TestDatabase.create()
        let one = try await CLI.createKey("one", domains: ["d1"], database: database)
        let two = try await CLI.createKey("two", domains: ["d2"], database: database)
        let all = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        let dossier = randomUUID()

        let mine = try await server.create(s3Subscription(domain: "d1", keys: [dossier]), key: one)
        let id = try mine.string("id")
        let theirs = try await server.create(s3Subscription(domain: "d2"), key: two)

        let forbidden = try await server.post("/subscriptions", key: one, s3Subscription(domain: "d2"))
        #expect(forbidden.status == 403)
        #expect(forbidden.field == "domain")
        #expect(try await sql("SELECT count(*) FROM cae_subscription", database: database).scalar() == "2")

        // Another domain's subscription answers exactly like one that does not exist.
        let hidden = try await server.get("/subscriptions/\(id)", key: two)
        let unknown = try await server.get("/subscriptions/ffffffffffffffffffffffff", key: two)
        #expect(hidden.status == 404 && unknown.status == 404)
        #expect(hidden.body.replacingOccurrences(of: id, with: "X") == unknown.body.replacingOccurrences(of: "ffffffffffffffffffffffff", with: "X"))
        #expect(try await server.get("/subscriptions?id=\(id)", key: two).status == 404)
        #expect(try await server.get("/filters?id=\(id)", key: two).status == 404)
        #expect(try await server.post("/topics?id=\(id)", key: two, #"["x"]"#).status == 404)
        #expect(try await server.put("/key-filters?id=\(id)", key: two, #"[{"key":"\#(dossier)","status":"new"}]"#).status == 404)
        #expect(try await server.post("/key-filters?id=\(id)", key: two, #"[{"key":"\#(randomUUID())"}]"#).status == 404)
        #expect(try await server.delete("/key-filters?id=\(id)", key: two, #"[{"key":"\#(dossier)"}]"#).status == 404)
        #expect(try await server.post("/suspended?id=\(id)", key: two, "").status == 404)
        #expect(try await server.post("/sink?id=\(id)", key: two, #"{"type":"AWS S3"}"#).status == 404)
        #expect(try await server.put("/sink?id=\(id)", key: two, #"{"options":{"bucketName":"other"}}"#).status == 404)
        #expect(try await server.post("/filters?id=\(id)", key: two, #"{"a":1}"#).status == 404)
        #expect(try await server.delete("/subscriptions?id=\(id)", key: two).status == 404)
        // …and nothing changed.
        let after = try await server.get("/subscriptions/\(id)", key: one)
        #expect(after.json == mine)

        let listedByTwo = try await server.get("/subscriptions", key: two).json.arrayValue ?? []
        #expect(listedByTwo.map { $0["id"]?.stringValue } == [try theirs.string("id")])
        #expect((try await server.get("/subscriptions?domain=d1", key: two).json.arrayValue ?? []).isEmpty)
        let listedByAll = try await server.get("/subscriptions", key: all).json.arrayValue ?? []
        #expect(listedByAll.count == 2)
        #expect(try await server.get("/subscriptions/\(id)", key: all).status == 200)
        #expect(try await server.post("/subscriptions", key: all, s3Subscription(domain: "d3")).status == 201)
        #expect(await server.stop() == 0)
    }
}
