import AsyncHTTPClient
import CaeInitCore
@testable import CaeInitSinks
import Foundation
import NIOCore
import NIOHTTP1
import CaeInitTestSupport
import Testing

private let accessKeyId = "AKIDEXAMPLE"
private let secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
private let sessionToken = "FQoGZXIvYXdzEXAMPLESESSIONTOKENx0123456789"

private func s3Sink(port: Int, bucket: String = "bucket", accessKeyId: String = accessKeyId, secret: String = secretKey, token: String? = nil,
                    retry: RetryPolicy = RetryPolicy(maxRetries: 2, backoffSeconds: 0.2, backoffMultiplier: 2),
                    timeout: Duration = .seconds(5), waits: WaitRecorder) throws -> S3Sink {
    let s3 = S3SinkConfiguration(
        accessKeyId: accessKeyId, secretAccessKey: Secret(secret), region: "us-east-1", sessionToken: token.map(Secret.init),
        bucketName: bucket, endpoint: "http://127.0.0.1:\(port)"
    )
    return try S3Sink(
        configuration: SinkConfiguration(destination: .s3(s3), retryPolicy: retry), s3: s3, httpClient: .shared,
        requestTimeout: timeout, retrySleep: waits.sleep
    )
}

/// The number of requests the scripted server received.
func requestCount(port: Int) async throws -> Int {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/_count"), timeout: .seconds(5))
    let body = try await response.body.collect(upTo: 1024)
    return Int(String(buffer: body)) ?? -1
}

/// No secret and no Authorization header in what an operator reads.
func expectNoSecret(_ error: SinkError, _ secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    let text = "\(error) \(error.message)"
    for secret in secrets {
        #expect(!text.contains(secret), "secret in \(text)", sourceLocation: sourceLocation)
    }
    #expect(!text.contains("Signature="), sourceLocation: sourceLocation)
    #expect(!text.contains("AWS4-HMAC-SHA256"), sourceLocation: sourceLocation)
    #expect(!text.contains("SharedKey "), sourceLocation: sourceLocation)
}

@Suite("S3 sink: retries against a scripted server")
struct S3SinkRetryTests {
    @Test("503, 503, 200: succeeds after two retries, waiting 0.2 s then 0.4 s")
    func retriesServerErrors() async throws {
        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "503,503,200"])
        defer { server.stop() }
        let waits = WaitRecorder(sleeping: true)
        let sink = try s3Sink(port: server.port, waits: waits)
        let started = ContinuousClock.now
        try await sink.put("e/journal/j_1.json", body: Array(#"{"a":1}"#.utf8))
        let elapsed = ContinuousClock.now - started
        #expect(waits.waits == [.milliseconds(200), .milliseconds(400)])
        #expect(elapsed >= .milliseconds(600))
        #expect(try await requestCount(port: server.port) == 3)
    }

    @Test("503 every time: fails after maxRetries with S3's code, retryable")
    func exhaustsRetries() async throws {
        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "503"])
        defer { server.stop() }
        let waits = WaitRecorder()
        let sink = try s3Sink(port: server.port, waits: waits)
        let error = try await #require(throws: SinkError.self) { try await sink.put("o.json", body: [1]) }
        #expect(error.httpStatus == 503)
        #expect(error.serviceCode == "SlowDown")
        #expect(error.isRetryable)
        #expect(waits.waits.count == 2)
        #expect(try await requestCount(port: server.port) == 3)
    }

    @Test("403 is not retried: one request, S3's code in the message, no secret")
    func forbiddenIsNotRetried() async throws {
        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "403,200"])
        defer { server.stop() }
        let waits = WaitRecorder()
        let sink = try s3Sink(port: server.port, token: sessionToken, waits: waits)
        let error = try await #require(throws: SinkError.self) { try await sink.put("e/journal/j_1.json", body: [1, 2]) }
        #expect(error.description.hasPrefix("S3 403 SignatureDoesNotMatch: "))
        #expect(error.objectName == "e/journal/j_1.json")
        #expect(!error.isRetryable)
        #expect(waits.waits.isEmpty)
        #expect(try await requestCount(port: server.port) == 1)
        expectNoSecret(error, [secretKey, sessionToken])
    }

    @Test("429 and 500 are retried, 404 is not")
    func statusClasses() async throws {
        for (script, expectedRequests) in [("429,200", 2), ("500,200", 2), ("404,200", 1)] {
            let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), script])
            defer { server.stop() }
            let sink = try s3Sink(port: server.port, waits: WaitRecorder())
            _ = try? await sink.put("o.json", body: [1])
            #expect(try await requestCount(port: server.port) == expectedRequests, "\(script)")
        }
    }

    @Test("Connection refused is retried, then reported without secrets")
    func connectionRefused() async throws {
        let port = try ServerProcess.freePort()
        let waits = WaitRecorder()
        let sink = try s3Sink(port: port, timeout: .seconds(1), waits: waits)
        let error = try await #require(throws: SinkError.self) { try await sink.put("o.json", body: [1]) }
        #expect(error.isRetryable)
        #expect(error.httpStatus == nil)
        #expect(waits.waits == [.milliseconds(200), .milliseconds(400)])
        expectNoSecret(error, [secretKey])
    }

    @Test("Virtual-hosted and path-style addressing")
    func addressing() throws {
        let waits = WaitRecorder()
        let aws = S3SinkConfiguration(accessKeyId: "A", secretAccessKey: Secret("s"), region: "eu-west-3", sessionToken: nil, bucketName: "cegid-loop", endpoint: nil)
        let virtual = try S3Sink(configuration: SinkConfiguration(destination: .s3(aws)), s3: aws, httpClient: .shared, retrySleep: waits.sleep)
        #expect(virtual.endpoint == ServiceEndpoint(scheme: "https", host: "cegid-loop.s3.eu-west-3.amazonaws.com"))
        #expect(virtual.objectPath("a/b.json") == "/a/b.json")
        let pathStyle = try s3Sink(port: 9000, waits: waits)
        #expect(pathStyle.objectPath("a/b.json") == "/bucket/a/b.json")
        #expect(pathStyle.endpoint.host == "127.0.0.1:9000")
    }
}

/// moto with signature checking on: an IAM user's key signs every S3 request, moto recomputes each signature.
@Suite("S3 sink against moto (signatures checked)", .serialized)
struct S3SinkMotoTests {
    @Test("prepare, put and read back; wrong secret; missing bucket")
    func roundTrip() async throws {
        let (moto, keyId, secret) = try await Moto.start()
        defer { moto.stop() }
        let created = try await Moto.signedRequest(.PUT, port: moto.port, path: "/cae-bucket", keyId: keyId, secret: secret)
        #expect(created.status == .ok)

        let waits = WaitRecorder()
        let sink = try s3Sink(port: moto.port, bucket: "cae-bucket", accessKeyId: keyId, secret: secret, waits: waits)
        try await sink.prepare()
        let objects: [(String, [UInt8])] = [
            ("7e9030b3-40e9-4726-8d8c-9bfbadc59844/journal/1a8793c7-02a1-4e83-aa49-074d0021bf4a_1734684480000.json",
             Array(#"{"libelle":"Opérations diverses","debit":12345678901234567890.12}"#.utf8)),
            // A space, but no non-ASCII byte nor `$`, `+`, `=`: moto 5.2.1 rebuilds the signed path from werkzeug's
            // re-quoted URL and rejects even botocore's own signature for those keys. The S3 documentation's
            // `test$file.text` example covers them (in SigV4SignerTests).
            ("dossier 2024/compte/a_1.json", Array(#"{"x":null}"#.utf8)),
            ("_manifests/0123456789abcdef01234567/7e9030b3.json", []),
        ]
        for (name, body) in objects {
            try await sink.put(name, body: body)
        }
        for (name, body) in objects {
            #expect(try await sink.get(name) == body, "\(name)")
        }
        #expect(waits.waits.isEmpty)

        // A wrong secret: moto's SignatureDoesNotMatch, one attempt, no secret in the message.
        let wrongWaits = WaitRecorder()
        let wrong = try s3Sink(port: moto.port, bucket: "cae-bucket", accessKeyId: keyId, secret: "wrong" + secret.dropFirst(5), waits: wrongWaits)
        let error = try await #require(throws: SinkError.self) { try await wrong.put("x/journal/y_1.json", body: [1]) }
        #expect(error.httpStatus == 403)
        #expect(error.serviceCode == "SignatureDoesNotMatch")
        #expect(error.description.hasPrefix("S3 403 SignatureDoesNotMatch: "))
        #expect(wrongWaits.waits.isEmpty)
        expectNoSecret(error, [secret, "wrong" + secret.dropFirst(5)])
        // prepare() with the wrong secret names the service's code too (HEAD has no body: a GET fetches it).
        let prepareError = try await #require(throws: SinkError.self) { try await wrong.prepare() }
        #expect(prepareError.httpStatus == 403)
        #expect(prepareError.serviceCode == "SignatureDoesNotMatch")
        expectNoSecret(prepareError, [secret, "wrong" + secret.dropFirst(5)])

        // A missing bucket fails prepare() with its name, at once.
        let missingWaits = WaitRecorder()
        let missing = try s3Sink(port: moto.port, bucket: "no-such-bucket", accessKeyId: keyId, secret: secret, waits: missingWaits)
        let missingError = try await #require(throws: SinkError.self) { try await missing.prepare() }
        #expect(missingError.serviceCode == "NoSuchBucket")
        #expect(missingError.httpStatus == 404)
        #expect(missingError.description.contains("\"no-such-bucket\" does not exist"))
        #expect(!missingError.isRetryable)
        #expect(missingWaits.waits.isEmpty)
    }
}
