import CaeInitCore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 8: /key-filters, /suspended, /topics, /filters, /sink — Cegid's edit routes on the same store.
@Suite("Edit routes")
struct EditRouteTests {
    @Test("POST /key-filters adds missing keys as new and leaves listed ones untouched; PUT re-initialises with status new; DELETE removes")
    func keyFilters() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        let (k1, k2, k3) = (randomUUID(), randomUUID(), randomUUID())
        let id = try await server.create(s3Subscription(keys: [k1]), key: key).string("id")
        // k1 as a finished run left it.
        try await sql("""
            UPDATE cae_key_filter SET status = 'ready', initializer = 'w1', message = 'success',
                report = '{"processedDate":"2026-01-01T00:00:00.000Z","status":"processed","locked":false}' WHERE key = $1::uuid
            """, [k1], database: database)

        var answer = try await server.post("/key-filters?id=\(id)", key: key, #"[{"key":"\#(k1)","status":"new"},{"key":"\#(k2)","status":"ready"}]"#)
        #expect(answer.status == 200)
        var filters = answer.json.arrayValue ?? []
        #expect(filters.map { $0["key"]?.stringValue } == [k1, k2])
        #expect(filters.first?["status"] == "ready", "POST leaves a listed key as it is, even sent as new")
        #expect(filters.first?["initializer"] == "w1")
        #expect(filters.last?["status"] == "new", "a new key is new whatever was sent")

        // The wrapped form Cegid shows for creation is accepted too; k1 sent with another status is left alone.
        answer = try await server.put("/key-filters?id=\(id)", key: key, #"{"keyFilters":[{"key":"\#(k1)","status":"failed"},{"key":"\#(k3.uppercased())","status":"ready"}]}"#)
        #expect(answer.status == 200)
        filters = answer.json.arrayValue ?? []
        #expect(filters.map { $0["key"]?.stringValue } == [k1, k2, k3])
        #expect(filters.map { $0["status"]?.stringValue } == ["ready", "new", "new"])

        answer = try await server.put("/key-filters?id=\(id)", key: key, #"[{"key":"\#(k1)","status":"new","initializer":"x","report":{"status":"processed"}}]"#)
        #expect(answer.status == 200)
        filters = answer.json.arrayValue ?? []
        #expect(filters.first?["status"] == "new")
        #expect(filters.first?["initializer"] == .null)
        #expect(filters.first?["report"] == .null)
        #expect(filters.first?["message"] == .null)

        answer = try await server.delete("/key-filters?id=\(id)", key: key, #"[{"key":"\#(k2)","status":"ready","initializer":"sink-initialisation-dw7zt-zgn8t"},{"key":"\#(randomUUID())"}]"#)
        #expect(answer.status == 200)
        #expect(answer.json["id"]?.stringValue == id, "DELETE answers the document")
        #expect((answer.json["keyFilters"]?.arrayValue ?? []).map { $0["key"]?.stringValue } == [k1, k3])
        // Retrying the same DELETE succeeds: keys no longer listed are ignored.
        #expect(try await server.delete("/key-filters?id=\(id)", key: key, #"[{"key":"\#(k2)"}]"#).status == 200)

        let bad: [(String, String)] = [
            (#"[{"key":"nope"}]"#, "keyFilters[0].key"),
            (#"[{"key":"\#(k1)"},{"key":"\#(k1)"}]"#, "keyFilters[1].key"),
            (#"[{"key":"\#(k1)","status":"done"}]"#, "keyFilters[0].status"),
            (#"[{"key":"\#(k1)","colour":"red"}]"#, "keyFilters[0].colour"),
            (#"[{}]"#, "keyFilters[0].key"),
            (#"[]"#, "keyFilters"),
            (#"{"keys":[]}"#, "keys"),
            (#""\#(k1)""#, "keyFilters"),
        ]
        for (body, field) in bad {
            for method in ["POST", "PUT", "DELETE"] {
                let answer: HTTPAnswer
                switch method {
                case "POST": answer = try await server.post("/key-filters?id=\(id)", key: key, body)
                case "PUT": answer = try await server.put("/key-filters?id=\(id)", key: key, body)
                default: answer = try await server.delete("/key-filters?id=\(id)", key: key, body)
                }
                #expect(answer.status == 400, "\(method) \(body): \(answer.body)")
                #expect(answer.field == field, "\(method) \(body): \(answer.body)")
            }
        }
        #expect(try await server.post("/key-filters?id=ffffffffffffffffffffffff", key: key, #"[{"key":"\#(k1)"}]"#).status == 404)
        #expect(try await server.post("/key-filters", key: key, #"[{"key":"\#(k1)"}]"#).field == "id")
        let stored = try await sql("SELECT key::text, status FROM cae_key_filter ORDER BY position", database: database).rows
        #expect(stored.map { $0[0] } == [k1, k3], "refused requests changed nothing")
        #expect(await server.stop() == 0)
    }

    @Test("POST /suspended sets suspended: value defaults to true, false resumes, anything else is 400")
    func suspended() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        let id = try await server.create(s3Subscription(), key: key).string("id")

        var answer = try await server.post("/suspended?id=\(id)", key: key, "")
        #expect(answer.status == 200)
        #expect(answer.json["suspended"] == true)
        #expect(answer.json["id"]?.stringValue == id)
        answer = try await server.post("/suspended?id=\(id)&value=false", key: key, "")
        #expect(answer.json["suspended"] == false)
        answer = try await server.post("/suspended?id=\(id)&value=true", key: key, "")
        #expect(answer.json["suspended"] == true)
        #expect(try await sql("SELECT suspended FROM cae_subscription", database: database).scalar() == "t")
        answer = try await server.post("/suspended?id=\(id)&value=maybe", key: key, "")
        #expect(answer.status == 400)
        #expect(answer.field == "value")
        #expect(try await server.post("/suspended?id=ffffffffffffffffffffffff", key: key, "").status == 404)
        #expect(try await server.post("/suspended", key: key, "").field == "id")
        #expect(await server.stop() == 0)
    }

    @Test("/topics: POST replaces, PUT adds the missing ones, DELETE removes; both body shapes; answers {topics}")
    func topics() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        let id = try await server.create(s3Subscription(), key: key).string("id")

        var answer = try await server.post("/topics?id=\(id)", key: key, #"["a","b"]"#)
        #expect(answer.status == 200)
        #expect(answer.json == ["topics": ["a", "b"]])
        answer = try await server.put("/topics?id=\(id)", key: key, #"{"topics":["b","c"]}"#)
        #expect(answer.json == ["topics": ["a", "b", "c"]])
        answer = try await server.delete("/topics?id=\(id)", key: key, #"["a","zzz"]"#)
        #expect(answer.json == ["topics": ["b", "c"]])
        answer = try await server.post("/topics?id=\(id)", key: key, #"{"topics":[]}"#)
        #expect(answer.json == ["topics": []])
        #expect(try await server.get("/subscriptions/\(id)", key: key).json["topics"] == [])

        for (body, field) in [(#"[1]"#, "topics[0]"), (#"{"topics":"a"}"#, "topics"), (#"{"topic":["a"]}"#, "topic"), (#""a""#, "topics")] {
            for method in ["POST", "PUT", "DELETE"] {
                let answer = method == "POST" ? try await server.post("/topics?id=\(id)", key: key, body)
                    : method == "PUT" ? try await server.put("/topics?id=\(id)", key: key, body) : try await server.delete("/topics?id=\(id)", key: key, body)
                #expect(answer.status == 400, "\(method) \(body)")
                #expect(answer.field == field, "\(method) \(body): \(answer.body)")
            }
        }
        #expect(await server.stop() == 0)
    }

    @Test("/filters: GET ({} when none), POST replaces, DELETE removes by names or by object keys")
    func filters() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        let id = try await server.create(s3Subscription(), key: key).string("id")

        var answer = try await server.get("/filters?id=\(id)", key: key)
        #expect(answer.status == 200)
        #expect(answer.json == [:])
        answer = try await server.post("/filters?id=\(id)", key: key, #"{"application_id":"1999353e-52d1-4598-b76e-6fcbd15620fe","type":2,"ferme":false}"#)
        // Stored as jsonb: the properties come back, not necessarily in the order sent.
        #expect(answer.json.isJSONEqual(to: ["application_id": "1999353e-52d1-4598-b76e-6fcbd15620fe", "type": 2, "ferme": false]), "\(answer.body)")
        #expect(try await server.get("/filters?id=\(id)", key: key).json == answer.json)
        answer = try await server.delete("/filters?id=\(id)", key: key, #"["type","nothing"]"#)
        #expect(answer.json.isJSONEqual(to: ["application_id": "1999353e-52d1-4598-b76e-6fcbd15620fe", "ferme": false]), "\(answer.body)")
        answer = try await server.delete("/filters?id=\(id)", key: key, #"{"ferme":true}"#)
        #expect(answer.json == ["application_id": "1999353e-52d1-4598-b76e-6fcbd15620fe"])
        answer = try await server.post("/filters?id=\(id)", key: key, "{}")
        #expect(answer.json == [:])
        #expect(try await server.get("/subscriptions/\(id)", key: key).json["filters"] == .null)

        for (method, body, field) in [("POST", "[1]", "filters"), ("POST", "3", "filters"), ("DELETE", "[1]", "filters[0]"), ("DELETE", "true", "filters")] {
            let answer = method == "POST" ? try await server.post("/filters?id=\(id)", key: key, body) : try await server.delete("/filters?id=\(id)", key: key, body)
            #expect(answer.status == 400, "\(method) \(body)")
            #expect(answer.field == field, "\(method) \(body): \(answer.body)")
        }
        #expect(try await server.get("/filters?id=ffffffffffffffffffffffff", key: key).status == 404)
        #expect(await server.stop() == 0)
    }

    @Test("/sink: answers masked; a masked secret sent back keeps the stored one; PUT merges and keeps absent secrets")
    func sink() async throws {
        let database = try await TestDatabase.create()
        let key = try await CLI.createKey("all", domains: [], database: database)
        let server = try await APIServer(database: database)
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let id = try await server.create(s3Subscription(secret: secret), key: key).string("id")
        func storedSink() async throws -> JSONValue {
            try JSONValue.parse(try await sql("SELECT sink::text FROM cae_subscription WHERE id = $1", [id], database: database).scalar() ?? "null")
        }

        // Read, edit, post back: the masked secret keeps the stored secret.
        let read = try await server.get("/subscriptions/\(id)", key: key).json["sink"] ?? .null
        let masked = read["credentials"]?["secretAccessKey"]?.stringValue ?? ""
        #expect(masked == "wJa" + String(repeating: "*", count: secret.count - 3))
        var edited = read.serialized().replacingOccurrences(of: "cegid-loop", with: "other-bucket")
        var answer = try await server.post("/sink?id=\(id)", key: key, edited)
        #expect(answer.status == 200)
        #expect(answer.json["options"]?["bucketName"] == "other-bucket")
        #expect(answer.json["credentials"]?["secretAccessKey"]?.stringValue == masked)
        #expect(try await storedSink()["credentials"]?["secretAccessKey"]?.stringValue == secret)
        #expect(try await storedSink()["options"]?["bucketName"] == "other-bucket")

        // A new secret replaces it; a masked form of something else is taken as sent.
        edited = read.serialized().replacingOccurrences(of: masked, with: "NEWsecret1234")
        answer = try await server.post("/sink?id=\(id)", key: key, edited)
        #expect(answer.json["credentials"]?["secretAccessKey"] == "NEW**********")
        #expect(try await storedSink()["credentials"]?["secretAccessKey"] == "NEWsecret1234")
        #expect(try await storedSink()["options"]?["bucketName"] == "cegid-loop", "POST replaces the whole sink")

        // PUT merges: no secret sent keeps the stored one; null removes a member.
        answer = try await server.put("/sink?id=\(id)", key: key, #"{"options":{"endpoint":"http://127.0.0.1:9000"},"retryPolicy":{"maxRetries":5}}"#)
        #expect(answer.status == 200)
        var stored = try await storedSink()
        #expect(stored["credentials"]?["secretAccessKey"] == "NEWsecret1234")
        #expect(stored["options"]?["endpoint"] == "http://127.0.0.1:9000")
        #expect(stored["options"]?["bucketName"] == "cegid-loop")
        #expect(stored["retryPolicy"]?["maxRetries"] == 5)
        answer = try await server.put("/sink?id=\(id)", key: key, #"{"credentials":{"secretAccessKey":"NEW**********","sessionToken":"tok-123456"},"options":{"endpoint":null}}"#)
        #expect(answer.json["credentials"]?["sessionToken"] == "tok*******")
        stored = try await storedSink()
        #expect(stored["credentials"]?["secretAccessKey"] == "NEWsecret1234")
        #expect(stored["credentials"]?["sessionToken"] == "tok-123456")
        #expect(stored["options"]?["endpoint"] == nil)

        // Invalid edits: the field by its document path; nothing changes.
        let before = try await storedSink()
        let bad: [(String, String, String)] = [
            ("PUT", #"{"credentials":{"region":null}}"#, "sink.credentials.region"),
            // The S3 credentials left by the merge are unknown to Azure: the first one (jsonb order) is named.
            ("PUT", #"{"type":"Azure Blob Storage"}"#, "sink.credentials.region"),
            ("PUT", #"{"retryPolicy":{"backoffMultiplier":0.5}}"#, "sink.retryPolicy.backoffMultiplier"),
            ("PUT", "[]", "sink"),
            ("POST", #"{"type":"Nope","credentials":{},"options":{}}"#, "sink.type"),
            ("POST", #"{"type":"AWS S3","credentials":{"accessKeyId":"a","secretAccessKey":"b"},"options":{"bucketName":"c"}}"#, "sink.credentials.region"),
            // The S3 secret's masked form is no Azure key: refused, never taken for the stored S3 secret.
            ("POST", #"{"type":"Azure Blob Storage","credentials":{"accountName":"a","accountKey":"NEW**********"},"options":{"containerName":"c"}}"#, "sink.credentials.accountKey"),
            ("POST", "3", "sink"),
        ]
        for (method, body, field) in bad {
            let answer = method == "PUT" ? try await server.put("/sink?id=\(id)", key: key, body) : try await server.post("/sink?id=\(id)", key: key, body)
            #expect(answer.status == 400, "\(method) \(body): \(answer.body)")
            #expect(answer.field == field, "\(method) \(body): \(answer.body)")
            #expect(!answer.body.contains("NEWsecret1234"))
        }
        #expect(try await storedSink() == before)
        #expect(try await server.post("/sink?id=ffffffffffffffffffffffff", key: key, read.serialized()).status == 404)
        #expect(await server.stop() == 0)
        #expect(!server.log.contains("NEWsecret1234") && !server.log.contains(secret))
    }
}
