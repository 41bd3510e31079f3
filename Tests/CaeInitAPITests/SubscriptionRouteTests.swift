import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 8: POST/GET/DELETE /subscriptions — Cegid's shapes, SPEC §2's document, the creation rules.
@Suite("Subscriptions routes")
struct SubscriptionRouteTests {
    @Test("Cegid's own examples create subscriptions: 201, filters new whatever was sent, id and key ignored, secrets masked")
    func createFromCegidExamples() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)

        let azure = try await server.create(try String(contentsOfFile: dataPath("cegid-create-azure.json"), encoding: .utf8), key: key)
        #expect(azure["domain"] == "CEFIDPARTENAIRES")
        #expect(azure["applicationId"] == "APIM")
        #expect(azure["suspended"] == false)
        #expect(azure["initWithHistory"] == false)
        #expect(azure["topics"] == [])
        #expect(azure["filters"] == .null)
        #expect(azure["sink"]?["credentials"]?["accountKey"] == "xxx*********")
        #expect(azure["keyFilters"] == [["key": "bd139d35-1faf-40b9-91d7-b3d1ca6e2c00", "status": "new", "initializer": nil, "message": nil, "report": nil]])
        let azureId = try azure.string("id")
        #expect(azureId.count == 24 && azureId.allSatisfy { $0.isHexDigit && !$0.isUppercase })

        let s3 = try await server.create(try String(contentsOfFile: dataPath("cegid-create-s3.json"), encoding: .utf8), key: key)
        #expect(try s3.string("id") != "633d5f41ec13b91a20039d99", "the id sent is ignored")
        #expect(try s3.string("key") != "AAAAAAAAAa", "the key sent is ignored: the service fills it")
        #expect(s3["keyFilters"]?.arrayValue?.first?["status"] == "new", "sent as ready, stored as new")
        #expect(s3["keyFilters"]?.arrayValue?.first?["initializer"] == .null)
        #expect(s3["sink"]?["credentials"]?["secretAccessKey"] == "XXX*********")
        #expect(s3["sink"]?["credentials"]?["accessKeyId"] == "YYYYYYYYYYY")
        // Stored whole: the secret is masked only when shown.
        let stored = try await sql("SELECT sink->'credentials'->>'secretAccessKey' FROM cae_subscription WHERE id = $1", [try s3.string("id")], database: database)
        #expect(stored.scalar() == "XXXXXXXXXXXX")
        let status = try await sql("SELECT status FROM cae_key_filter WHERE subscription_id = $1", [try s3.string("id")], database: database)
        #expect(status.scalar() == "new")
        #expect(await server.stop() == 0)
    }

    @Test("GET /subscriptions: by id (404 when unknown), by path, and every matching one by domain and topic, combined")
    func read() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        let a = try await server.create(s3Subscription(domain: "d1"), key: key)
        let b = try await server.create(s3Subscription(domain: "d2").replacingOccurrences(of: "queuing.cpa.comptabilite", with: "t.other"), key: key)
        let c = try await server.create(s3Subscription(domain: "d1").replacingOccurrences(of: "queuing.cpa.comptabilite", with: "t.other"), key: key)
        let (ia, ib, ic) = (try a.string("id"), try b.string("id"), try c.string("id"))

        let byId = try await server.get("/subscriptions?id=\(ia)", key: key)
        #expect(byId.status == 200)
        #expect(byId.json == a)
        #expect(try await server.get("/subscriptions/\(ib)", key: key).json == b)
        let unknown = try await server.get("/subscriptions?id=ffffffffffffffffffffffff", key: key)
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "not_found")
        #expect(try await server.get("/subscriptions/ffffffffffffffffffffffff", key: key).status == 404)
        #expect(try await server.get("/subscriptions/not-an-id", key: key).status == 404)

        func ids(_ query: String) async throws -> [String] {
            let answer = try await server.get("/subscriptions\(query)", key: key)
            #expect(answer.status == 200)
            return (answer.json.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        }
        #expect(try await ids("") == [ia, ib, ic])
        #expect(try await ids("?domain=d1") == [ia, ic])
        #expect(try await ids("?domain=d3") == [])
        #expect(try await ids("?topic=t.other") == [ib, ic])
        #expect(try await ids("?topic=queuing.cpa.comptabilite") == [ia])
        #expect(try await ids("?domain=d1&topic=t.other") == [ic])
        #expect(try await ids("?domain=d2&topic=queuing.cpa.comptabilite") == [])
        // With an id, the other parameters still apply: a mismatch is 404.
        #expect(try await server.get("/subscriptions?id=\(ia)&domain=d1", key: key).status == 200)
        #expect(try await server.get("/subscriptions?id=\(ia)&domain=d2", key: key).status == 404)
        #expect(await server.stop() == 0)
    }

    @Test("DELETE /subscriptions?id= answers what was deleted, masked; then it is gone; id is required")
    func delete() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        let created = try await server.create(s3Subscription(keys: [randomUUID()]), key: key)
        let id = try created.string("id")

        let deleted = try await server.delete("/subscriptions?id=\(id)", key: key)
        #expect(deleted.status == 200)
        #expect(deleted.json == created)
        #expect(!deleted.body.contains("wJalrXUtnFEMI"))
        #expect(try await server.get("/subscriptions/\(id)", key: key).status == 404)
        #expect(try await server.delete("/subscriptions?id=\(id)", key: key).status == 404)
        #expect(try await sql("SELECT count(*) FROM cae_key_filter", database: database).scalar() == "0")
        let missing = try await server.delete("/subscriptions", key: key)
        #expect(missing.status == 400)
        #expect(missing.field == "id")
        #expect(await server.stop() == 0)
    }

    @Test("creation refuses bad bodies with the field named, the rules of `subscriptions create`, and stores nothing")
    func validation() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database, extraArguments: [])
        let good = s3Subscription()
        #expect(try await server.post("/subscriptions", key: key, good).status == 201)
        try await sql("DELETE FROM cae_subscription", database: database)

        let cases: [(String, String)] = [
            (good.replacingOccurrences(of: #""domain":"comptabilite","#, with: ""), "domain"),
            (good.replacingOccurrences(of: #""domain":"comptabilite""#, with: #""domain":"""#), "domain"),
            (good.replacingOccurrences(of: #""domain":"comptabilite""#, with: #""domain":7"#), "domain"),
            (s3Subscription(keys: [randomUUID(), "not-a-uuid"]), "keyFilters[1].key"),
            (s3Subscription(keys: ["5b0a4f0e-4d7e-4f5e-9a47-5f9c2b1a0c11", "5B0A4F0E-4D7E-4F5E-9A47-5F9C2B1A0C11"]), "keyFilters[1].key"),
            (good.replacingOccurrences(of: #""type":"AWS S3""#, with: #""type":"FTP""#), "sink.type"),
            (good.replacingOccurrences(of: #","region":"eu-west-3""#, with: ""), "sink.credentials.region"),
            (good.replacingOccurrences(of: #""region":"eu-west-3""#, with: #""region":3"#), "sink.credentials.region"),
            (good.replacingOccurrences(of: #""secretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","#, with: ""), "sink.credentials.secretAccessKey"),
            (good.replacingOccurrences(of: #""bucketName":"cegid-loop","#, with: ""), "sink.options.bucketName"),
            (good.replacingOccurrences(of: #""folderName":"entite_id""#, with: #""folderName":"""#), "sink.options.folderName"),
            (good.replacingOccurrences(of: #""applicationId":"tests""#, with: #""applicationId":"tests","colour":"blue""#), "colour"),
            (good.replacingOccurrences(of: #"["queuing.cpa.comptabilite"]"#, with: "[1]"), "topics[0]"),
            (good.replacingOccurrences(of: #"["queuing.cpa.comptabilite"]"#, with: #""queuing""#), "topics"),
            (s3Subscription(extra: #","filters":[1]"#), "filters"),
            (s3Subscription(extra: #","suspended":"no""#), "suspended"),
            (s3Subscription(extra: #","initWithHistory":1"#), "initWithHistory"),
            (good.replacingOccurrences(of: #""folderName":"entite_id"}"#, with: #""folderName":"entite_id"},"retryPolicy":{"maxRetries":21}"#), "sink.retryPolicy.maxRetries"),
            (good.replacingOccurrences(of: #""folderName":"entite_id"}"#, with: #""folderName":"entite_id","endpoint":"ftp://x"}"#), "sink.options.endpoint"),
            (#"{"domain":"d","sink":{"type":"Azure Blob Storage","credentials":{"accountName":"a","accountKey":"not base64!"},"options":{"containerName":"c"}}}"#, "sink.credentials.accountKey"),
            // Local Directory writes on the worker's host: refused unless the server allows it.
            (localSubscription(path: "/tmp/x", keys: []), "sink.type"),
            (good.replacingOccurrences(of: #""domain":"comptabilite""#, with: #""domain":"a\u0000b""#), "domain"),
        ]
        for (body, field) in cases {
            let answer = try await server.post("/subscriptions", key: key, body)
            #expect(answer.status == 400, "\(field): \(answer.body)")
            #expect(answer.field == field, "\(answer.body)")
            #expect(!answer.body.contains("wJalrXUtnFEMI"), "no secret in errors")
        }
        let notJSON = try await server.post("/subscriptions", key: key, "{\"domain\": ")
        #expect(notJSON.status == 400)
        #expect(notJSON.errorCode == "invalid_json")
        #expect(notJSON.json["field"] == .null)
        let notObject = try await server.post("/subscriptions", key: key, "[]")
        #expect(notObject.status == 400)
        #expect(try await sql("SELECT count(*) FROM cae_subscription", database: database).scalar() == "0", "nothing stored")
        #expect(await server.stop() == 0)
        #expect(!server.log.contains("wJalrXUtnFEMI"))
    }
}
