import CaeInitCore
import CaeInitStore
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 7: partners' cloud keys sealed at rest (AES-256-GCM), rotated with `secrets rotate`.
@Suite("Secrets at rest")
struct SecretsAtRestTests {
    static let keyA = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  // 32 bytes
    static let keyB = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="  // 32 bytes
    static let secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
    static let token = "FQoGZXIvYXdzSESSIONTOKENVALUE"

    static func body(port: Int) -> String {
        #"{"domain":"compta","keyFilters":[{"key":"\#(EndToEndTests.simpleEntite)"}],"sink":{"type":"AWS S3","credentials":{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"\#(secret)","region":"us-east-1","sessionToken":"\#(token)"},"options":{"bucketName":"b","endpoint":"http://127.0.0.1:\#(port)"}}}"#
    }

    @Test("with a key, the database holds no secret, shows stay masked, and the worker opens them; rotate re-seals under the new key")
    func sealedAndRotated() async throws {
        let database = try await TestDatabase.create("secrets")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await CLI.succeed(["fixtures", "load", fixturePath("dossier-simple.json")], database: database)
        let port = try ServerProcess.freePort()  // nothing listens there: the sink fails after opening the secrets
        let file = try directory.write("s3.json", Self.body(port: port))
        let created = try await CLI.run(["subscriptions", "create", "--file", file], database: database, environment: ["CAE_INIT_SECRETS_KEY": Self.keyA])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(!created.stderr.contains("WARNING"), "a key is configured: no warning")
        #expect(created.stdout.contains(#""secretAccessKey": "wJa"#) && !created.stdout.contains(Self.secret))
        let id = try #require(try JSONValue.parse(created.stdout)["id"]?.stringValue)

        let dump = try await sql("SELECT sink::text FROM cae_subscription", database: database).scalar() ?? ""
        #expect(!dump.contains(Self.secret) && !dump.contains(Self.token), "no secret at rest: \(dump)")
        #expect(dump.contains("cae-sealed:v1:"))
        #expect(dump.contains("AKIDEXAMPLE"), "the access key id is not a secret")

        let shown = try await CLI.succeed(["subscriptions", "show", id], database: database, environment: ["CAE_INIT_SECRETS_KEY": Self.keyA])
        #expect(shown.contains(#""secretAccessKey": "wJa***"#), "opened, then masked: \(shown)")

        // The worker opens the sealed secrets: the failure is the sink's (nothing listens), not the sealing's.
        let run = try await CLI.run(["run-once", "--max-attempts", "1"], database: database, environment: ["CAE_INIT_SECRETS_KEY": Self.keyA])
        #expect(run.status == 1)
        var message = try await sql("SELECT message FROM cae_key_filter", database: database).scalar() ?? ""
        #expect(message.contains("no answer from http://127.0.0.1:\(port)"), "\(message)")
        #expect(!message.contains(Self.secret) && !message.contains(Self.token))

        // Rotation: the new key first, the old one after to read what it sealed.
        let rotated = try await CLI.run(["secrets", "rotate"], database: database, environment: ["CAE_INIT_SECRETS_KEY": "\(Self.keyB),\(Self.keyA)"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.stdout.contains("re-sealed the secrets of 1 subscription(s)"))
        let newKeyId = try SinkSealer(keyring: Self.keyB).keys[0].id
        let oldKeyId = try SinkSealer(keyring: Self.keyA).keys[0].id
        let after = try await sql("SELECT sink::text FROM cae_subscription", database: database).scalar() ?? ""
        #expect(after.contains("cae-sealed:v1:\(newKeyId):") && !after.contains(oldKeyId))
        #expect(!after.contains(Self.secret))
        let again = try await CLI.run(["secrets", "rotate"], database: database, environment: ["CAE_INIT_SECRETS_KEY": "\(Self.keyB),\(Self.keyA)"])
        #expect(again.stdout.contains("re-sealed the secrets of 0 subscription(s)"), "already under the new key")

        // A process given only the old key cannot open them, and says which key is needed.
        try await CLI.succeed(["key-filters", "reset", "--subscription", id, EndToEndTests.simpleEntite], database: database)
        _ = try await CLI.run(["run-once", "--max-attempts", "1"], database: database, environment: ["CAE_INIT_SECRETS_KEY": Self.keyA])
        message = try await sql("SELECT message FROM cae_key_filter", database: database).scalar() ?? ""
        #expect(message.contains("sealed with secrets key \(newKeyId)"), "\(message)")
    }

    @Test("without a key the CLI warns loudly; a malformed key is refused naming its source, never printing it")
    func noKeyOrBadKey() async throws {
        let database = try await TestDatabase.create("nokey")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("s3.json", Self.body(port: 9))
        let created = try await CLI.run(["subscriptions", "create", "--file", file], database: database)
        #expect(created.status == 0)
        #expect(created.stderr.contains("WARNING: no secrets key"))
        let short = try await CLI.run(["subscriptions", "create", "--file", file], database: database, environment: ["CAE_INIT_SECRETS_KEY": "c2hvcnRrZXk="])
        #expect(short.status == 1)
        #expect(short.stderr.contains("CAE_INIT_SECRETS_KEY") && short.stderr.contains("32 bytes"), "\(short.stderr)")
        #expect(!short.stderr.contains("c2hvcnRrZXk="))
    }

    @Test("a sealed value altered in the database does not open, and says so")
    func tamperedValue() throws {
        let sealer = try SinkSealer(keyring: Self.keyA)
        var sink = JSONObject()
        sink["type"] = .string("Azure Blob Storage")
        sink["credentials"] = ["accountName": "a", "accountKey": "c2VjcmV0a2V5"]
        let sealed = try sealer.seal(sink)
        #expect(try sealer.open(sealed) == sink)
        guard case .string(let value)? = sealed["credentials"]?.objectValue?["accountKey"] else { Issue.record("not sealed"); return }
        var tampered = sealed
        let flipped = String(value.dropLast(2)) + (value.hasSuffix("AA") ? "BB" : "AA")
        tampered["credentials"] = ["accountName": "a", "accountKey": .string(flipped)]
        #expect(throws: SealingError.self) { _ = try sealer.open(tampered) }
        // Sealed under one field's name, a value moved to another field does not open either.
        var moved = sealed
        moved["credentials"] = ["accountName": "a", "secretAccessKey": .string(value)]
        #expect(throws: SealingError.self) { _ = try sealer.open(moved) }
    }
}
