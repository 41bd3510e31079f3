import AsyncHTTPClient
import CaeInitCore
@testable import CaeInitSinks
import CaeInitTestSupport
import Testing

/// A storage endpoint that echoes the request in its error answers (`scripted_server.py … echo`): the secrets it
/// was sent must not reach the `SinkError`, whose text becomes the filter's `message`.
@Suite("Secrets echoed by a storage endpoint stay out of sink errors")
struct SecretEchoTests {
    static let secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    /// `/`, `+` and `=` make its percent-encoded form differ from it.
    static let sessionToken = "IQoJb3JpZ2luX2VjEXAMPLE/session+token=="
    static let accountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

    static func s3Sink(port: Int) throws -> S3Sink {
        let s3 = S3SinkConfiguration(
            accessKeyId: "AKIDEXAMPLE", secretAccessKey: Secret(secretKey), region: "us-east-1", sessionToken: Secret(sessionToken),
            bucketName: "bucket", endpoint: "http://127.0.0.1:\(port)"
        )
        return try S3Sink(
            configuration: SinkConfiguration(destination: .s3(s3), retryPolicy: RetryPolicy(maxRetries: 0, backoffSeconds: 0, backoffMultiplier: 1)),
            s3: s3, httpClient: .shared, requestTimeout: .seconds(5), retrySleep: WaitRecorder().sleep
        )
    }

    /// The text an operator could read: the description and each field.
    static func texts(_ error: SinkError) -> String {
        "\(error) | \(error.message) | \(error.serviceCode ?? "") | \(error.objectName ?? "")"
    }

    static func percentEncoded(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if scalar.properties.isAlphabetic && byte < 128 || (48...57).contains(byte) || "-._~".unicodeScalars.contains(scalar) {
                output.unicodeScalars.append(scalar)
            } else {
                output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return output
    }

    @Test("S3: the x-amz-security-token echoed in <Message> and x-amz-request-id is masked, and so is the signature")
    func s3EchoedToken() async throws {
        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "403", "echo"])
        defer { server.stop() }
        let sink = try Self.s3Sink(port: server.port)
        let error = try await #require(throws: SinkError.self) { try await sink.put("e/journal/j_1.json", body: [1]) }
        let text = Self.texts(error)
        #expect(error.httpStatus == 403)
        #expect(error.serviceCode == "SignatureDoesNotMatch")
        // The echo reached the message (so the checks below could fail): the token's masked form is there.
        #expect(text.contains("x-amz-security-token: \(Secret.mask(Self.sessionToken))"), "\(text)")
        #expect(text.contains("[request id \(Secret.mask(Self.sessionToken))]"), "\(text)")
        #expect(text.contains("Authorization: AWS*"), "\(text)")
        for secret in [Self.sessionToken, Self.percentEncoded(Self.sessionToken), Self.secretKey] {
            #expect(!text.contains(secret), "\(secret) in \(text)")
        }
        #expect(!text.contains("Signature="))
        #expect(!text.contains("AWS4-HMAC-SHA256"))
    }

    @Test("S3: the token echoed in a HEAD Bucket refusal (explained by a GET) is masked")
    func s3PrepareEchoedToken() async throws {
        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "403", "echo"])
        defer { server.stop() }
        let sink = try Self.s3Sink(port: server.port)
        let error = try await #require(throws: SinkError.self) { try await sink.prepare() }
        let text = Self.texts(error)
        #expect(error.serviceCode == "SignatureDoesNotMatch")
        #expect(text.contains(Secret.mask(Self.sessionToken)), "\(text)")
        #expect(!text.contains(Self.sessionToken), "\(text)")
        #expect(!text.contains(Self.percentEncoded(Self.sessionToken)), "\(text)")
    }

    @Test("Azure: an account key reflected raw, percent-encoded and as character references is masked")
    func azureEchoedKey() async throws {
        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "403", "echo", Self.accountKey])
        defer { server.stop() }
        let azure = AzureBlobSinkConfiguration(accountName: "devstoreaccount1", accountKey: Secret(Self.accountKey), containerName: "c", endpoint: "http://127.0.0.1:\(server.port)/devstoreaccount1")
        let sink = try AzureBlobSink(
            configuration: SinkConfiguration(destination: .azureBlob(azure), retryPolicy: RetryPolicy(maxRetries: 0, backoffSeconds: 0, backoffMultiplier: 1)),
            azure: azure, httpClient: .shared, requestTimeout: .seconds(5), retrySleep: WaitRecorder().sleep
        )
        let error = try await #require(throws: SinkError.self) { try await sink.put("a/journal/b_1.json", body: [1]) }
        let text = Self.texts(error)
        #expect(error.httpStatus == 403)
        #expect(text.contains(Secret.mask(Self.accountKey)), "\(text)")
        for secret in [Self.accountKey, Self.percentEncoded(Self.accountKey)] {
            #expect(!text.contains(secret), "\(secret) in \(text)")
        }
        #expect(!text.contains("SharedKey "))
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
