import AsyncHTTPClient
import CaeInitCore
import CaeInitSinks
import CaeInitTestSupport
import Foundation
import Testing

/// Issue 4 through the CLI: a dossier initialised into S3 (moto, signatures checked) or Azure (a Blob endpoint that
/// checks every signature with Microsoft's SDK) matches the Local Directory output byte for byte.
@Suite("Remote sinks end to end", .serialized)
struct RemoteSinkTests {
    static let keys = [EndToEndTests.historyEntite, EndToEndTests.simpleEntite]

    /// Initialises the fixture dossiers into a Local Directory: the reference output, manifests aside.
    func reference(database: String, directory: TemporaryDirectory) async throws -> [String: [UInt8]] {
        try await CLI.succeed(["fixtures", "load"] + EndToEndTests.fixtures, database: database)
        _ = try await createSubscription(localSubscription(path: directory.file("local"), keys: Self.keys, initWithHistory: true), database: database, in: directory)
        try await CLI.succeed(["run-once"], database: database)
        let files = directory.files(under: "local").filter { !$0.key.hasPrefix("_manifests/") && !$0.key.hasPrefix(".partial/") }
        #expect(files.count == 16)
        return files
    }

    static func s3Body(port: Int, keyId: String, secret: String, bucket: String) -> String {
        let keyFilters = keys.map { #"{"key":"\#($0)"}"# }.joined(separator: ",")
        return #"{"domain":"d","keyFilters":[\#(keyFilters)],"initWithHistory":true,"sink":{"type":"AWS S3","credentials":{"accessKeyId":"\#(keyId)","secretAccessKey":"\#(secret)","region":"us-east-1"},"options":{"bucketName":"\#(bucket)","endpoint":"http://127.0.0.1:\#(port)"},"retryPolicy":{"maxRetries":2,"backoffSeconds":0.1}}}"#
    }

    @Test("S3 (moto, signatures checked): same objects as the Local Directory; wrong secret and missing bucket fail the filter")
    func s3() async throws {
        let database = try await TestDatabase.create("s3")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let expected = try await reference(database: database, directory: directory)
        let (moto, keyId, secret) = try await Moto.start()
        defer { moto.stop() }
        #expect(try await Moto.signedRequest(.PUT, port: moto.port, path: "/cae-bucket", keyId: keyId, secret: secret).status == .ok)

        let id = try await createSubscription(Self.s3Body(port: moto.port, keyId: keyId, secret: secret, bucket: "cae-bucket"), database: database, in: directory)
        let run = try await CLI.run(["run-once"], database: database)
        #expect(run.status == 0, "\(run.stderr)")
        let s3 = S3SinkConfiguration(accessKeyId: keyId, secretAccessKey: Secret(secret), region: "us-east-1", sessionToken: nil, bucketName: "cae-bucket", endpoint: "http://127.0.0.1:\(moto.port)")
        let reader = try S3Sink(configuration: SinkConfiguration(destination: .s3(s3)), s3: s3, httpClient: .shared)
        for (name, bytes) in expected {
            #expect(try await reader.get(name) == bytes, "\(name)")
        }
        for key in Self.keys {
            let manifest = try JSONValue.parse(bytes: try await reader.get("_manifests/\(id)/\(key).json"))
            #expect(manifest["subscriptionId"]?.stringValue == id)
        }

        // A wrong secret: failed at once with the service's code, the secret nowhere.
        let wrong = try await createSubscription(Self.s3Body(port: moto.port, keyId: keyId, secret: "WRONGSECRETVALUE0123", bucket: "cae-bucket"), database: database, in: directory)
        let refused = try await CLI.run(["run-once"], database: database, environment: ["LOG_LEVEL": "debug"])
        #expect(refused.status == 1)
        let wrongState = try #require(try await filterStates(wrong, database: database)[EndToEndTests.simpleEntite])
        #expect(wrongState.status == "failed")
        #expect(wrongState.message?.contains("S3 403 SignatureDoesNotMatch") == true, "\(wrongState.message ?? "")")
        #expect(wrongState.report?["attempt"] == .number("1"))
        #expect(!refused.stdout.contains("retrying") && !refused.stderr.contains("WRONGSECRETVALUE0123") && !refused.stdout.contains("WRONGSECRETVALUE0123"))

        // A missing bucket: a clear reason naming it.
        let missing = try await createSubscription(Self.s3Body(port: moto.port, keyId: keyId, secret: secret, bucket: "no-such-bucket"), database: database, in: directory)
        #expect(try await CLI.run(["run-once"], database: database).status == 1)
        let missingMessage = try #require(try await filterStates(missing, database: database)[EndToEndTests.simpleEntite]?.message)
        #expect(missingMessage.contains("NoSuchBucket") && missingMessage.contains("no-such-bucket"), "\(missingMessage)")
    }

    @Test("Azure Blob (an SDK-checked endpoint): same blobs as the Local Directory; a wrong key fails with AuthenticationFailed")
    func azure() async throws {
        let database = try await TestDatabase.create("azure")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let expected = try await reference(database: database, directory: directory)
        let account = "devstoreaccount1"
        let key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
        let server = try ServerProcess(python: [SupportFiles.path("azure_blob_server.py"), account, key])
        defer { server.stop() }
        func body(_ accountKey: String) -> String {
            let keyFilters = Self.keys.map { #"{"key":"\#($0)"}"# }.joined(separator: ",")
            return #"{"domain":"d","keyFilters":[\#(keyFilters)],"initWithHistory":true,"sink":{"type":"Azure Blob Storage","credentials":{"accountName":"\#(account)","accountKey":"\#(accountKey)"},"options":{"containerName":"loop","endpoint":"http://127.0.0.1:\#(server.port)/\#(account)"}}}"#
        }
        let id = try await createSubscription(body(key), database: database, in: directory)
        let run = try await CLI.run(["run-once"], database: database)
        #expect(run.status == 0, "\(run.stderr)")
        let azure = AzureBlobSinkConfiguration(accountName: account, accountKey: Secret(key), containerName: "loop", endpoint: "http://127.0.0.1:\(server.port)/\(account)")
        let reader = try AzureBlobSink(configuration: SinkConfiguration(destination: .azureBlob(azure)), azure: azure, httpClient: .shared)
        for (name, bytes) in expected {
            #expect(try await reader.get(name) == bytes, "\(name)")
        }
        #expect(try await reader.get("_manifests/\(id)/\(EndToEndTests.historyEntite).json").count > 0)

        let wrongKey = "vnsFZPdWUCV/+Avn7F5uF2MosVR3jy/rZtyMMDbw4f2+ewVk91ZQJX/4C+fsXm4XYyixVHePL+tm3IwwNvDh/Q=="
        let wrong = try await createSubscription(body(wrongKey), database: database, in: directory)
        let refused = try await CLI.run(["run-once"], database: database)
        #expect(refused.status == 1)
        let message = try #require(try await filterStates(wrong, database: database)[EndToEndTests.historyEntite]?.message)
        #expect(message.contains("403 AuthenticationFailed"), "\(message)")
        #expect(!message.contains(wrongKey) && !refused.stderr.contains(wrongKey) && !refused.stdout.contains(wrongKey))
    }
}
