import CaeInitCore
import Crypto

/// AWS Signature Version 4 with Amazon S3's path rules: the path is never normalised (`.`, `..` and `//` stay, they
/// are part of an object key) and each raw byte is percent-encoded once. Pure: the instant is a parameter and no
/// I/O happens, so every intermediate artefact can be compared with AWS's published test suites.
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// SHA-256 of the empty payload.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public let accessKeyId: String
    public let secretAccessKey: Secret
    /// Temporary credentials' token, sent and signed as `x-amz-security-token`.
    public let sessionToken: Secret?
    public let region: String
    /// `s3` for the sink; AWS's generic suite signs for `service`.
    public let service: String

    public init(accessKeyId: String, secretAccessKey: Secret, sessionToken: Secret? = nil, region: String, service: String = "s3") {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.region = region
        self.service = service
    }

    /// Every artefact of one signature, for tests and for sending.
    public struct SignedRequest: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        /// Lower-case hex HMAC.
        public var signature: String
        /// `host;x-amz-date;…`
        public var signedHeaders: String
        /// The `Authorization` header value. Never log it.
        public var authorization: String
        /// The headers to send: the caller's, then `x-amz-date`, `x-amz-content-sha256` (when asked for),
        /// `x-amz-security-token` (with a session token) and `Authorization`.
        public var headers: [(name: String, value: String)]
    }

    /// Signs a request. `path` is the raw (not yet percent-encoded) path, `/bucket/key` or `/key`; `query` holds
    /// raw names and values. `headers` must include `Host`. Headers the signer sets (`x-amz-date`, and
    /// `x-amz-content-sha256` / `x-amz-security-token` when it sends them) replace the caller's of the same name.
    /// `sendContentSHA256` adds `x-amz-content-sha256: <payloadHash>`, which S3 requires and the generic suite omits.
    public func sign(
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)],
        payloadHash: String,
        date: UTCTimestamp,
        sendContentSHA256: Bool = true
    ) -> SignedRequest {
        var replaced: Set<String> = ["x-amz-date", "authorization"]
        var added: [(name: String, value: String)] = [("x-amz-date", date.amzDate)]
        if sendContentSHA256 {
            replaced.insert("x-amz-content-sha256")
            added.append(("x-amz-content-sha256", payloadHash))
        }
        if let sessionToken {
            replaced.insert("x-amz-security-token")
            added.append(("x-amz-security-token", sessionToken.value))
        }
        let allHeaders = headers.filter { !replaced.contains($0.name.lowercased()) } + added
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(allHeaders)
        let canonicalRequest = Self.canonicalRequest(
            method: method,
            canonicalURI: Self.canonicalURI(path),
            canonicalQuery: Self.canonicalQuery(query),
            canonicalHeaders: canonicalHeaders,
            signedHeaders: signedHeaders,
            payloadHash: payloadHash
        )
        let stringToSign = stringToSign(canonicalRequest: canonicalRequest, date: date)
        let signature = signature(stringToSign: stringToSign, date: date)
        let authorization = "\(Self.algorithm) Credential=\(accessKeyId)/\(credentialScope(date: date)), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return SignedRequest(
            canonicalRequest: canonicalRequest,
            stringToSign: stringToSign,
            signature: signature,
            signedHeaders: signedHeaders,
            authorization: authorization,
            headers: allHeaders + [("Authorization", authorization)]
        )
    }

    /// `20150830/us-east-1/service/aws4_request`
    public func credentialScope(date: UTCTimestamp) -> String {
        "\(date.dateStamp)/\(region)/\(service)/aws4_request"
    }

    public func stringToSign(canonicalRequest: String, date: UTCTimestamp) -> String {
        "\(Self.algorithm)\n\(date.amzDate)\n\(credentialScope(date: date))\n\(Self.sha256Hex(Array(canonicalRequest.utf8)))"
    }

    /// HMAC-SHA256 of `stringToSign` under the key derived for `date`'s day, region and service, in hex. Also signs
    /// the chunk strings of S3's streaming uploads.
    public func signature(stringToSign: String, date: UTCTimestamp) -> String {
        PercentEncoding.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(date: date)))
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`
    public func signingKey(date: UTCTimestamp) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Array("AWS4\(secretAccessKey.value)".utf8))
        return hmac(hmac(hmac(hmac(secret, date.dateStamp), region), service), "aws4_request")
    }

    // MARK: Canonical forms

    public static func canonicalRequest(
        method: String, canonicalURI: String, canonicalQuery: String, canonicalHeaders: String, signedHeaders: String, payloadHash: String
    ) -> String {
        "\(method)\n\(canonicalURI)\n\(canonicalQuery)\n\(canonicalHeaders)\n\(signedHeaders)\n\(payloadHash)"
    }

    /// S3's canonical URI: the raw path with each byte percent-encoded once, `/` kept, nothing normalised.
    public static func canonicalURI(_ rawPath: String) -> String {
        rawPath.isEmpty ? "/" : PercentEncoding.encode(rawPath, keepSlash: true)
    }

    /// Names and values encoded (`/` too), sorted by name then value; a parameter without a value is `name=`.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query
            .map { (PercentEncoding.encode($0.name, keepSlash: false), PercentEncoding.encode($0.value, keepSlash: false)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// The canonical header block (each `name:value\n`, names lower-cased and sorted) and the signed-header list.
    /// Values are trimmed and their inner runs of white space, folded line breaks included, become one space;
    /// repeated names are joined with commas in the order sent.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            if values[key] == nil { order.append(key) }
            values[key, default: []].append(collapseWhitespace(value))
        }
        let names = order.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let canonical = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    static func collapseWhitespace(_ value: String) -> String {
        var output: [UInt8] = []
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") {
                pendingSpace = !output.isEmpty
            } else {
                if pendingSpace { output.append(UInt8(ascii: " ")) }
                pendingSpace = false
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        PercentEncoding.hex(SHA256.hash(data: bytes))
    }
}
