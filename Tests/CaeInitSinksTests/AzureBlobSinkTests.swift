import AsyncHTTPClient
import CaeInitCore
@testable import CaeInitSinks
import Foundation
import NIOCore
import CaeInitTestSupport
import Testing

private let account = "devstoreaccount1"
private let accountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
private let wrongKey = "vnsFZPdWUCV/+Avn7F5uF2MosVR3jy/rZtyMMDbw4f2+ewVk91ZQJX/4C+fsXm4XYyixVHePL+tm3IwwNvDh/Q=="

private func azureSink(port: Int, key: String = accountKey, container: String = "loop", waits: WaitRecorder) throws -> AzureBlobSink {
    let azure = AzureBlobSinkConfiguration(accountName: account, accountKey: Secret(key), containerName: container, endpoint: "http://127.0.0.1:\(port)/\(account)")
    return try AzureBlobSink(
        configuration: SinkConfiguration(destination: .azureBlob(azure), retryPolicy: RetryPolicy(maxRetries: 2, backoffSeconds: 0.2, backoffMultiplier: 2)),
        azure: azure, httpClient: .shared, requestTimeout: .seconds(5), retrySleep: waits.sleep
    )
}

/// The fake's counters: requests received and refused for their signature.
private func stats(port: Int) async throws -> (requests: Int, authFailures: Int) {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/_stats"), timeout: .seconds(5))
    let value = try JSONValue.parse(String(buffer: try await response.body.collect(upTo: 1024)))
    func number(_ key: String) -> Int {
        if case .number(let text) = value[key] ?? .null { return Int(text) ?? -1 }
        return -1
    }
    return (number("requests"), number("authFailures"))
}

/// The fake (`Support/azure_blob_server.py`) checks each Authorization against what Microsoft's SDK computes.
@Suite("Azure Blob sink against an SDK-checked fake", .serialized)
struct AzureBlobSinkTests {
    @Test("prepare (twice), put and read back; wrong key; missing container")
    func roundTrip() async throws {
        let server = try ServerProcess(python: [SupportFiles.path("azure_blob_server.py"), account, accountKey])
        defer { server.stop() }
        let waits = WaitRecorder()
        let sink = try azureSink(port: server.port, waits: waits)
        try await sink.prepare()
        try await sink.prepare() // 409 ContainerAlreadyExists is fine
        let objects: [(String, [UInt8])] = [
            ("7e9030b3-40e9-4726-8d8c-9bfbadc59844/journal/1a8793c7-02a1-4e83-aa49-074d0021bf4a_1734684480000.json",
             Array(#"{"libelle":"Opérations diverses","credit":0.10}"#.utf8)),
            ("dossier été/compte/a+b=c$d_1.json", Array(#"{"x":null}"#.utf8)),
            ("_manifests/0123456789abcdef01234567/7e9030b3.json", []),
        ]
        for (name, body) in objects {
            try await sink.put(name, body: body)
        }
        for (name, body) in objects {
            #expect(try await sink.get(name) == body, "\(name)")
        }
        #expect(waits.waits.isEmpty)
        #expect(try await stats(port: server.port) == (requests: 8, authFailures: 0))

        // A wrong key: 403 AuthenticationFailed, one attempt, no key in the message.
        let wrongWaits = WaitRecorder()
        let wrong = try azureSink(port: server.port, key: wrongKey, waits: wrongWaits)
        let error = try await #require(throws: SinkError.self) { try await wrong.put("x/journal/y_1.json", body: [1]) }
        #expect(error.httpStatus == 403)
        #expect(error.serviceCode == "AuthenticationFailed")
        #expect(error.description.hasPrefix("Azure Blob Storage 403 AuthenticationFailed: "))
        #expect(!error.description.contains("RequestId:"))
        #expect(wrongWaits.waits.isEmpty)
        #expect(try await stats(port: server.port) == (requests: 9, authFailures: 1))
        expectNoSecret(error, [accountKey, wrongKey])

        // Without prepare(), a missing container is a 404 that is not retried.
        let missingWaits = WaitRecorder()
        let missing = try azureSink(port: server.port, container: "absent", waits: missingWaits)
        let missingError = try await #require(throws: SinkError.self) { try await missing.put("a.json", body: [1]) }
        #expect(missingError.serviceCode == "ContainerNotFound")
        #expect(missingWaits.waits.isEmpty)
    }

    @Test("503 then 201: retried once with the configured wait")
    func retriesServerErrors() async throws {
        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "503,201"])
        defer { server.stop() }
        let waits = WaitRecorder()
        let sink = try azureSink(port: server.port, waits: waits)
        try await sink.put("a/journal/b_1.json", body: [1])
        #expect(waits.waits == [.milliseconds(200)])
        #expect(try await requestCount(port: server.port) == 2)
    }
}

@Suite("Sink factory")
struct SinkFactoryTests {
    @Test("Makes the S3 and Azure sinks from a subscription's sink object")
    func makesRemoteSinks() throws {
        let factory = SinkFactory(httpClient: .shared, logger: .init(label: "test"))
        let s3 = try SinkConfiguration(json: JSONValue.parse(#"{"type":"AWS S3","credentials":{"accessKeyId":"A","secretAccessKey":"S","region":"eu-west-1"},"options":{"bucketName":"b"}}"#))
        #expect(try factory.makeSink(for: s3) is S3Sink)
        let azure = try SinkConfiguration(json: JSONValue.parse(#"{"type":"Azure Blob Storage","credentials":{"accountName":"a","accountKey":"YmFy"},"options":{"containerName":"c"}}"#))
        #expect(try factory.makeSink(for: azure) is AzureBlobSink)
    }
}
