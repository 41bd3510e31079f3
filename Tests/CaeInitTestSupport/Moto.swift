import AsyncHTTPClient
import CaeInitCore
import CaeInitSinks
import NIOCore
import NIOHTTP1

/// moto's S3 server with signature checking on: an IAM user's key signs every S3 request.
public enum Moto {
    /// Starts moto on a free loopback port; its first 3 calls (creating an IAM user, its key and an allow-all
    /// policy) are exempt from authentication, every later one is checked.
    public static func start() async throws -> (ServerProcess, keyId: String, secret: String) {
        let port = try ServerProcess.freePort()
        let moto = try ServerProcess(
            python: ["-m", "moto.server", "-H", "127.0.0.1", "-p", "\(port)"], port: port,
            environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"]
        )
        do {
            func iam(_ parameters: [(String, String)]) async throws -> String {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                // Unchecked during the first 3 calls; its credential scope routes the call to IAM.
                request.headers.add(name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=bootstrap/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
                let form = (parameters + [("Version", "2010-05-08")]).map { "\($0.0)=\(PercentEncoding.encode($0.1, keepSlash: false))" }.joined(separator: "&")
                request.body = .bytes(ByteBuffer(string: form))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                guard response.status == .ok else { throw TestFailure("IAM \(parameters[0].1): \(response.status) \(body)") }
                return body
            }
            _ = try await iam([("Action", "CreateUser"), ("UserName", "cae-init")])
            let key = try await iam([("Action", "CreateAccessKey"), ("UserName", "cae-init")])
            _ = try await iam([
                ("Action", "PutUserPolicy"), ("UserName", "cae-init"), ("PolicyName", "all"),
                ("PolicyDocument", #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
            ])
            guard let keyId = ServiceErrorBody.element("AccessKeyId", in: key) else { throw TestFailure("no AccessKeyId in \(key)") }
            guard let secret = ServiceErrorBody.element("SecretAccessKey", in: key) else { throw TestFailure("no SecretAccessKey in \(key)") }
            return (moto, keyId, secret)
        } catch {
            moto.stop()
            throw error
        }
    }

    /// A signed request outside the sink (Create Bucket), with the same signer.
    public static func signedRequest(_ method: HTTPMethod, port: Int, path: String, keyId: String, secret: String) async throws -> HTTPClientResponse {
        let signer = SigV4Signer(accessKeyId: keyId, secretAccessKey: Secret(secret), region: "us-east-1")
        let signed = signer.sign(method: method.rawValue, path: path, headers: [("Host", "127.0.0.1:\(port)")], payloadHash: SigV4Signer.emptyPayloadHash, date: .now())
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(SigV4Signer.canonicalURI(path))")
        request.method = method
        for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
        return try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    }

}
