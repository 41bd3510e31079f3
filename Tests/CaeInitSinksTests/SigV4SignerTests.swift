import CaeInitCore
@testable import CaeInitSinks
import Foundation
import CaeInitTestSupport
import Testing

/// A request of the AWS suites' `.req` / `request.txt` format: `METHOD path?query HTTP/1.1`, headers (a line
/// starting with white space continues the previous value), an empty line, the body.
struct SuiteRequest {
    var method: String
    /// Raw: the file's path with its `%XX` sequences decoded.
    var path: String
    var query: [(name: String, value: String)]
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(_ text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { throw TestFailure("empty request") }
        let requestLine = lines.removeFirst()
        guard let space = requestLine.firstIndex(of: " ") else { throw TestFailure("bad request line \(requestLine)") }
        method = String(requestLine[..<space])
        var target = String(requestLine[requestLine.index(after: space)...])
        if target.hasSuffix(" HTTP/1.1") { target.removeLast(" HTTP/1.1".count) }
        let pieces = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = PercentEncoding.decode(String(pieces[0]))
        query = []
        if pieces.count > 1, !pieces[1].isEmpty {
            for parameter in pieces[1].split(separator: "&") {
                let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append((PercentEncoding.decode(String(pair[0])), pair.count > 1 ? PercentEncoding.decode(String(pair[1])) : ""))
            }
        }
        headers = []
        var index = 0
        while index < lines.count, !lines[index].isEmpty {
            let line = lines[index]
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
            index += 1
        }
        body = index + 1 < lines.count ? Array(lines[(index + 1)...].joined(separator: "\n").utf8) : []
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// The suite credentials of `sigv4/index.json`.
private let suiteAccessKey = "AKIDEXAMPLE"
private let suiteSecret = Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
/// The token botocore's `get-vanilla-with-session-token` takes from its credentials (as aws-c-auth's context).
private let suiteSessionToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

/// The trailing newline some files end with is not part of the artefact.
private func trimmed(_ text: String) -> String {
    var text = text
    while text.hasSuffix("\n") { text.removeLast() }
    return text
}

@Suite("SigV4 signer against AWS's test suites")
struct SigV4SignerTests {
    /// Every botocore test that applies to S3's path rules, plus the session-token test (token from credentials).
    static func botocoreTests() throws -> [String] {
        let index = try Vectors.json("sigv4/index.json")
        guard let suite = index["suites"]?["botocore-aws4_testsuite"]?.arrayValue else { throw TestFailure("index has no botocore suite") }
        return try suite.compactMap { entry in
            let name = try entry.string("test")
            let applies = entry["applies_to_s3_path_rules"]?.boolValue ?? false
            return applies || name == "get-vanilla-with-session-token" ? name : nil
        }
    }

    @Test("botocore suite: canonical request, string to sign, Authorization")
    func botocoreSuite() throws {
        let tests = try Self.botocoreTests()
        #expect(tests.count == 28)
        for test in tests {
            let base = "sigv4/botocore-aws4_testsuite/\(test)/\(test.split(separator: "/").last!)"
            let request = try SuiteRequest(try Vectors.text("\(base).req"))
            let date = try #require(UTCTimestamp(amzDate: request.header("X-Amz-Date") ?? ""), "\(test): no X-Amz-Date")
            let signer = SigV4Signer(
                accessKeyId: suiteAccessKey, secretAccessKey: suiteSecret,
                sessionToken: test == "get-vanilla-with-session-token" ? Secret(suiteSessionToken) : nil,
                region: "us-east-1", service: "service"
            )
            let signed = signer.sign(
                method: request.method, path: request.path, query: request.query, headers: request.headers,
                payloadHash: SigV4Signer.sha256Hex(request.body), date: date, sendContentSHA256: false
            )
            #expect(signed.canonicalRequest == trimmed(try Vectors.text("\(base).creq")), "\(test): canonical request")
            #expect(signed.stringToSign == trimmed(try Vectors.text("\(base).sts")), "\(test): string to sign")
            #expect(signed.authorization == trimmed(try Vectors.text("\(base).authz")), "\(test): Authorization")
        }
    }

    /// aws-c-auth's v4 suite, except the `*-normalized` variants (S3 never normalises; the `*-unnormalized` ones
    /// hold S3's expectations). Also its presigned (`query-*`) artefacts, built from the signer's public pieces.
    @Test("aws-c-auth suite: header and presigned signing")
    func awsCAuthSuite() throws {
        let index = try Vectors.json("sigv4/index.json")
        let tests = try #require(index["suites"]?["aws-c-auth-aws-signing-test-suite/v4"]?["tests"]?.arrayValue).compactMap(\.stringValue)
        let applicable = tests.filter { !$0.hasSuffix("-normalized") }
        #expect(tests.count == 38)
        #expect(applicable.count == 31)
        for test in applicable {
            let base = "sigv4/aws-c-auth-aws-signing-test-suite/v4/\(test)"
            let context = try Vectors.json("\(base)/context.json")
            let credentials = try #require(context["credentials"])
            let timestamp = try context.string("timestamp") // 2015-08-30T12:36:00Z
            let date = try #require(UTCTimestamp(amzDate: timestamp.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")))
            // `omit_session_token` (post-sts-header-after): the token is added after signing, so not signed.
            let token = context["omit_session_token"]?.boolValue == true ? nil : credentials["token"]?.stringValue
            let signer = SigV4Signer(
                accessKeyId: try credentials.string("access_key_id"), secretAccessKey: Secret(try credentials.string("secret_access_key")),
                sessionToken: token.map(Secret.init), region: try context.string("region"), service: try context.string("service")
            )
            let request = try SuiteRequest(try Vectors.text("\(base)/request.txt"))
            let payloadHash = SigV4Signer.sha256Hex(request.body)
            let signed = signer.sign(
                method: request.method, path: request.path, query: request.query, headers: request.headers,
                payloadHash: payloadHash, date: date, sendContentSHA256: context["sign_body"]?.boolValue ?? false
            )
            #expect(signed.canonicalRequest == trimmed(try Vectors.text("\(base)/header-canonical-request.txt")), "\(test): canonical request")
            #expect(signed.stringToSign == trimmed(try Vectors.text("\(base)/header-string-to-sign.txt")), "\(test): string to sign")
            #expect(signed.signature == trimmed(try Vectors.text("\(base)/header-signature.txt")), "\(test): signature")
            let signedRequest = try Vectors.text("\(base)/header-signed-request.txt")
            let authorization = signedRequest.split(separator: "\n").first { $0.hasPrefix("Authorization:") }.map { String($0.dropFirst("Authorization:".count)) }
            #expect(signed.authorization == authorization, "\(test): Authorization")

            // Presigned URL: the X-Amz-* parameters join the query, only the request's own headers are signed.
            let (canonicalHeaders, signedHeaders) = SigV4Signer.canonicalHeaders(request.headers)
            var query = request.query + [
                ("X-Amz-Algorithm", SigV4Signer.algorithm),
                ("X-Amz-Credential", "\(signer.accessKeyId)/\(signer.credentialScope(date: date))"),
                ("X-Amz-Date", date.amzDate),
                ("X-Amz-Expires", "3600"),
                ("X-Amz-SignedHeaders", signedHeaders),
            ]
            if let token { query.append(("X-Amz-Security-Token", token)) }
            let presigned = SigV4Signer.canonicalRequest(
                method: request.method, canonicalURI: SigV4Signer.canonicalURI(request.path), canonicalQuery: SigV4Signer.canonicalQuery(query),
                canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders, payloadHash: payloadHash
            )
            #expect(presigned == trimmed(try Vectors.text("\(base)/query-canonical-request.txt")), "\(test): presigned canonical request")
            let presignedSTS = signer.stringToSign(canonicalRequest: presigned, date: date)
            #expect(presignedSTS == trimmed(try Vectors.text("\(base)/query-string-to-sign.txt")), "\(test): presigned string to sign")
            #expect(signer.signature(stringToSign: presignedSTS, date: date) == trimmed(try Vectors.text("\(base)/query-signature.txt")), "\(test): presigned signature")
        }
    }

    /// smithy-rs's double-encoding cases: a generic signer encodes the wire path's `%3A` again (`%253A`); S3 must
    /// not, so the S3 canonical request is smithy's with the path encoded once.
    @Test("smithy-rs extras: S3 encodes the path once")
    func smithyExtras() throws {
        for test in ["double-url-encode", "double-encode-path"] {
            let base = "sigv4/smithy-rs-extras/\(test)/\(test)"
            let request = try SuiteRequest(try Vectors.text("\(base).req"))
            let genericCanonical = trimmed(try Vectors.text("\(base).creq"))
            var lines = genericCanonical.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines[1].contains("%25"), "\(test): the generic form double-encodes")
            lines[1] = lines[1].replacingOccurrences(of: "%25", with: "%")
            let date = try #require(UTCTimestamp(amzDate: lines[4].replacingOccurrences(of: "x-amz-date:", with: "")))
            let signer = SigV4Signer(accessKeyId: suiteAccessKey, secretAccessKey: suiteSecret, region: "us-east-1", service: "service")
            let headers = request.headers.filter { $0.name.lowercased() != "x-amz-date" }
            let signed = signer.sign(method: request.method, path: request.path, headers: headers, payloadHash: SigV4Signer.emptyPayloadHash, date: date, sendContentSHA256: false)
            #expect(signed.canonicalRequest == lines.joined(separator: "\n"), "\(test)")
            #expect(!signed.canonicalRequest.contains("%25"))
        }
        // double-url-encode's published chain is the generic (double-encoded) one: its canonical request still
        // hashes to its string to sign, and that signs to its Authorization, under the signer's key derivation.
        let base = "sigv4/smithy-rs-extras/double-url-encode/double-url-encode"
        let date = try #require(UTCTimestamp(amzDate: "20210511T154045Z"))
        let lambda = SigV4Signer(accessKeyId: suiteAccessKey, secretAccessKey: suiteSecret, region: "us-east-2", service: "lambda")
        let sts = lambda.stringToSign(canonicalRequest: trimmed(try Vectors.text("\(base).creq")), date: date)
        #expect(sts == trimmed(try Vectors.text("\(base).sts")))
        #expect(trimmed(try Vectors.text("\(base).authz")).hasSuffix("Signature=" + lambda.signature(stringToSign: sts, date: date)))
    }

    /// The S3 API Reference's worked examples: header-signed GET/PUT/list, the presigned GET, the streaming
    /// uploads' seed and chunk signatures, and the POST policy.
    @Test("S3 documentation examples")
    func s3Examples() throws {
        let document = try Vectors.json("s3-examples.json")
        let credentials = try #require(document["credentials"])
        let signer = SigV4Signer(
            accessKeyId: try credentials.string("access_key_id"), secretAccessKey: Secret(try credentials.string("secret_access_key")),
            region: try document.string("region"), service: try document.string("service")
        )
        let date = try #require(UTCTimestamp(amzDate: try document.string("amz_date")))
        #expect(PercentEncoding.hex(signer.signingKey(date: date).withUnsafeBytes { Array($0) }) == (try document.string("signing_key_hex")))
        var checked: [String] = []
        for example in try #require(document["examples"]?.arrayValue) {
            let id = try example.string("id")
            let input = try #require(example["input"])
            let expected = try #require(example["expected"])
            switch id {
            case "s3-get-object", "s3-put-object", "s3-get-bucket-lifecycle", "s3-get-bucket-list-objects":
                let headers = try #require(input["headers_sent"]?.objectValue).map { ($0.key, $0.value.stringValue ?? "") }
                let query = try #require(input["query"]?.arrayValue).map { ($0.arrayValue?[0].stringValue ?? "", $0.arrayValue?[1].stringValue ?? "") }
                let body = Array((input["body_utf8"]?.stringValue ?? "").utf8)
                let payloadHash = SigV4Signer.sha256Hex(body)
                #expect(payloadHash == (try input.string("payload_hash")), "\(id): payload hash")
                let signed = signer.sign(
                    method: try input.string("method"), path: try input.string("path_raw"), query: query,
                    headers: headers.filter { $0.0.lowercased() != "x-amz-content-sha256" }, payloadHash: payloadHash, date: date
                )
                #expect(signed.canonicalRequest == (try expected.string("canonical_request")), "\(id): canonical request")
                #expect(signed.stringToSign == (try expected.string("string_to_sign")), "\(id): string to sign")
                #expect(signed.signature == (try expected.string("signature")), "\(id): signature")
                #expect(signed.authorization == (try expected.string("authorization_with_spaces")), "\(id): Authorization")
                #expect(signed.signedHeaders == (try expected.string("signed_headers")), "\(id): signed headers")
            case "s3-presigned-get-object":
                let parameters = try #require(input["query_auth_params"]?.objectValue).map { ($0.key, $0.value.stringValue ?? "") }
                let (canonicalHeaders, signedHeaders) = SigV4Signer.canonicalHeaders([("Host", try input.string("host"))])
                let canonical = SigV4Signer.canonicalRequest(
                    method: try input.string("method"), canonicalURI: SigV4Signer.canonicalURI(try input.string("path_raw")),
                    canonicalQuery: SigV4Signer.canonicalQuery(parameters), canonicalHeaders: canonicalHeaders,
                    signedHeaders: signedHeaders, payloadHash: try input.string("payload_hash")
                )
                #expect(SigV4Signer.canonicalQuery(parameters) == (try expected.string("canonical_query")), "\(id): canonical query")
                #expect(canonical == (try expected.string("canonical_request")), "\(id): canonical request")
                let sts = signer.stringToSign(canonicalRequest: canonical, date: date)
                #expect(sts == (try expected.string("string_to_sign")), "\(id): string to sign")
                #expect(signer.signature(stringToSign: sts, date: date) == (try expected.string("signature")), "\(id): signature")
            case "s3-chunked-put-object", "s3-chunked-put-object-with-trailer":
                let headers = try #require(input["headers_signed"]?.objectValue).map { ($0.key, $0.value.stringValue ?? "") }
                let streaming = try #require(headers.first { $0.0 == "x-amz-content-sha256" }?.1)
                let signed = signer.sign(method: try input.string("method"), path: try input.string("path_raw"), headers: headers, payloadHash: streaming, date: date, sendContentSHA256: false)
                #expect(signed.canonicalRequest == (try expected.string("canonical_request")), "\(id): canonical request")
                #expect(signed.stringToSign == (try expected.string("string_to_sign")), "\(id): string to sign")
                #expect(signed.signature == (try expected.string("seed_signature")), "\(id): seed signature")
                #expect(signed.authorization.replacingOccurrences(of: ", ", with: ",") == (try expected.string("authorization")), "\(id): Authorization")
                var previous = signed.signature
                for chunk in try #require(expected["chunks"]?.arrayValue) {
                    let size = Int(try #require(chunk["size"].flatMap { if case .number(let n) = $0 { return n } else { return nil } }))!
                    let sts = [
                        "AWS4-HMAC-SHA256-PAYLOAD", date.amzDate, signer.credentialScope(date: date), previous,
                        SigV4Signer.emptyPayloadHash, SigV4Signer.sha256Hex([UInt8](repeating: UInt8(ascii: "a"), count: size)),
                    ].joined(separator: "\n")
                    #expect(sts == (try chunk.string("string_to_sign")), "\(id): chunk of \(size) string to sign")
                    previous = signer.signature(stringToSign: sts, date: date)
                    #expect(previous == (try chunk.string("signature")), "\(id): chunk of \(size) signature")
                }
            case "s3-post-policy":
                let policy = Base64.encode(Array(try input.string("policy_json_crlf").utf8))
                #expect(policy == (try expected.string("string_to_sign")), "\(id): policy")
                let policyDate = try #require(UTCTimestamp(amzDate: try input.string("x-amz-date")))
                #expect(signer.signature(stringToSign: policy, date: policyDate) == (try expected.string("signature")), "\(id): signature")
            default:
                Issue.record("unexpected example \(id)")
            }
            checked.append(id)
        }
        #expect(checked.count == 8)
    }

    @Test("S3 path rules: no normalisation, each byte encoded once")
    func pathRules() {
        #expect(SigV4Signer.canonicalURI("/example/../a/./b//c") == "/example/../a/./b//c")
        #expect(SigV4Signer.canonicalURI("/test$file.text") == "/test%24file.text")
        #expect(SigV4Signer.canonicalURI("/dossier été/a%3A b") == "/dossier%20%C3%A9t%C3%A9/a%253A%20b")
        #expect(SigV4Signer.canonicalURI("") == "/")
        #expect(SigV4Signer.canonicalQuery([("b", "2"), ("a", "x/y z"), ("a", "1")]) == "a=1&a=x%2Fy%20z&b=2")
        let (canonical, signed) = SigV4Signer.canonicalHeaders([("My-Header", "  a \t b \n  c  "), ("my-header", "d"), ("Host", "h")])
        #expect(canonical == "host:h\nmy-header:a b c,d\n")
        #expect(signed == "host;my-header")
    }

    @Test("Timestamps: SigV4 and RFC 1123 forms")
    func timestamps() throws {
        let date = try #require(UTCTimestamp(amzDate: "20261122T100000Z"))
        #expect(date.rfc1123 == "Sun, 22 Nov 2026 10:00:00 GMT")
        #expect(date.amzDate == "20261122T100000Z")
        #expect(UTCTimestamp(secondsSinceEpoch: 0).rfc1123 == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(UTCTimestamp(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 59).amzDate == "20240229T235959Z")
        #expect(UTCTimestamp(secondsSinceEpoch: 1_734_684_480).rfc1123 == "Fri, 20 Dec 2024 08:48:00 GMT")
        #expect(UTCTimestamp(amzDate: "2026-11-22") == nil)
    }
}
