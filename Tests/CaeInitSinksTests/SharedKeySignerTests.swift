import CaeInitCore
@testable import CaeInitSinks
import Foundation
import CaeInitTestSupport
import Testing

/// Splits a vector's URL into the path as sent and its decoded query parameters.
private func pathAndQuery(_ url: String) throws -> (path: String, query: [(name: String, value: String)]) {
    guard let schemeEnd = url.range(of: "://") else { throw TestFailure("bad URL \(url)") }
    let afterAuthority = url[schemeEnd.upperBound...].drop { $0 != "/" && $0 != "?" }
    let pieces = afterAuthority.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    var query: [(name: String, value: String)] = []
    if pieces.count > 1 {
        for parameter in pieces[1].split(separator: "&") {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            query.append((PercentEncoding.decode(String(pair[0])), pair.count > 1 ? PercentEncoding.decode(String(pair[1])) : ""))
        }
    }
    return (String(pieces[0]), query)
}

@Suite("Shared Key signer against the Azure vectors")
struct SharedKeySignerTests {
    /// Every vector Microsoft's Python SDK computed: Put Blob variants, Create Container, container properties,
    /// List Blobs and the emulator's path-style URL (whose account appears twice in the resource).
    @Test("azure-sharedkey-sdk.json: string to sign and Authorization")
    func sdkVectors() throws {
        let vectors = try #require(try Vectors.json("azure-sharedkey-sdk.json")["vectors"]?.arrayValue)
        #expect(vectors.count == 10)
        for vector in vectors {
            let name = try vector.string("name")
            let signer = try #require(SharedKeySigner(accountName: try vector.string("account"), accountKey: Secret(try vector.string("accountKey"))))
            let (path, query) = try pathAndQuery(try vector.string("url"))
            let headers = try #require(vector["headers"]?.objectValue).map { ($0.key, $0.value.stringValue ?? "") }
            let signed = signer.sign(method: try vector.string("method"), path: path, query: query, headers: headers)
            #expect(signed.stringToSign == (try vector.string("stringToSign")), "\(name): string to sign")
            #expect(signed.authorization == (try vector.string("authorization")), "\(name): Authorization")
        }
    }

    @Test("azure-sharedkey.json: published vectors")
    func publishedVectors() throws {
        let document = try Vectors.json("azure-sharedkey.json")
        let verified = try #require(document["verified"]?.arrayValue)
        #expect(verified.count == 12)
        for vector in verified {
            let id = try vector.string("id")
            let input = try #require(vector["input"])
            let expected = try #require(vector["expected"])
            let signer = try #require(SharedKeySigner(accountName: try input.string("account"), accountKey: Secret(try input.string("account_key_b64"))))
            if let given = input["string_to_sign"]?.stringValue {
                // Go's legacy check: base64-decoded key, HMAC-SHA256, base64.
                #expect("SharedKey \(signer.accountName):\(signer.signature(stringToSign: given))" == (try expected.string("authorization")), "\(id)")
            } else if id.hasPrefix("azure-storage-node-signrequest") {
                // The node unit test's resource path has no leading slash ("container"), hence `/devstoreaccount1container`.
                let query = try #require(input["query"]?.objectValue).map { ($0.key, $0.value.stringValue ?? "") }
                let headers = try #require(input["headers"]?.objectValue).map { ($0.key, $0.value.stringValue ?? "") }
                let signed = signer.sign(method: try input.string("method"), path: "container", query: query, headers: headers)
                #expect(signed.stringToSign == (try expected.string("string_to_sign")), "\(id): string to sign")
                #expect(signed.signature == (try expected.string("signature")), "\(id): signature")
                #expect(signed.authorization == (try expected.string("authorization")), "\(id): Authorization")
            } else {
                // Table service's Shared Key Lite: another scheme, whose string to sign is given; check its HMAC.
                #expect(id == "azure-sdk-for-go-legacy-getSharedKey-table-lite")
                let signature = signer.signature(stringToSign: try expected.string("string_to_sign"))
                #expect(signature == (try expected.string("signature")), "\(id)")
                #expect("SharedKeyLite \(signer.accountName):\(signature)" == (try expected.string("authorization")), "\(id)")
            }
        }

        // String-to-sign-only entries: the published Authorization values are placeholders, so only layouts are checked.
        let layouts = try #require(document["string_to_sign_only"]?.arrayValue)
        #expect(layouts.count == 5)
        var checked = 0
        for entry in layouts {
            let id = try entry.string("id")
            switch id {
            case "msdocs-get-container-metadata-2009-09-19":
                let sts = SharedKeySigner.stringToSign(
                    method: "GET", accountName: "myaccount", path: "/mycontainer",
                    query: [("restype", "container"), ("comp", "metadata"), ("timeout", "20")],
                    headers: [("x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"), ("x-ms-version", "2009-09-19")]
                )
                #expect(sts == (try entry.string("expected_string_to_sign")), "\(id)")
                checked += 1
            case "msdocs-put-container-content-length-0-2015-02-21":
                let sts = SharedKeySigner.stringToSign(
                    method: "PUT", accountName: "myaccount", path: "/mycontainer",
                    query: [("restype", "container"), ("timeout", "30")],
                    headers: [("x-ms-version", "2015-02-21"), ("x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"), ("Content-Length", "0")]
                )
                #expect(sts == (try entry.string("expected_string_to_sign")), "\(id)")
                checked += 1
            case "msdocs-canonicalized-resource-examples":
                let cases = try #require(entry["cases"]?.arrayValue)
                for item in cases {
                    var (path, query) = try pathAndQuery(try item.string("request").replacingOccurrences(of: "GET ", with: ""))
                    if item["note"] != nil { path = "/mycontainer" } // the docs' typo, as the note says
                    #expect(SharedKeySigner.canonicalizedResource(accountName: "myaccount", path: path, query: query) == (try item.string("canonicalized_resource")))
                }
                let headers = SharedKeySigner.canonicalizedHeaders([("X-Ms-Version", "2014-02-14"), ("x-ms-date", "Sat, 21 Feb 2015 00:48:38 GMT"), ("Content-Type", "x")])
                #expect(headers == (try entry.string("canonicalized_headers_example")))
                checked += 1
            case "azure-sdk-for-go-legacy-buildCanonicalizedResource":
                for item in try #require(entry["cases"]?.arrayValue) where try item.string("scheme") == "SharedKey" {
                    // Go sends a raw space as %20 and keeps what is already encoded: that is the path on the wire.
                    let (path, query) = try pathAndQuery(try item.string("url").replacingOccurrences(of: " ", with: "%20"))
                    #expect(SharedKeySigner.canonicalizedResource(accountName: try entry.string("account"), path: path, query: query) == (try item.string("canonicalized_resource")))
                }
                checked += 1
            case "msdocs-sharedkeylite-put-blob":
                checked += 1 // Shared Key Lite: a scheme the sink does not use.
            default:
                Issue.record("unexpected entry \(id)")
            }
        }
        #expect(checked == 5)
    }

    @Test("The sink's blob paths: emulator and cloud")
    func blobPaths() throws {
        let key = Secret("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
        let emulator = ServiceEndpoint("http://127.0.0.1:10000/devstoreaccount1/")
        #expect(emulator == ServiceEndpoint(scheme: "http", host: "127.0.0.1:10000", basePath: "/devstoreaccount1"))
        let signer = try #require(SharedKeySigner(accountName: "devstoreaccount1", accountKey: key))
        // The SDK vector "emulator-put-blob", rebuilt from the sink's pieces.
        let signed = signer.sign(method: "PUT", path: "/devstoreaccount1/loop/" + PercentEncoding.encode("e/journal/j_5.json", keepSlash: true), headers: [
            ("x-ms-date", try #require(UTCTimestamp(amzDate: "20261122T100000Z")).rfc1123), ("x-ms-version", AzureBlobSink.serviceVersion),
            ("x-ms-blob-type", "BlockBlob"), ("Content-Type", "application/json"), ("Content-Length", "99"),
        ])
        #expect(signed.authorization == "SharedKey devstoreaccount1:JwwcAAVPQCThXZ1Plye7JAO9dOP5XANJYoloRLgG/3g=")
        #expect(PercentEncoding.encode("dossier été/journal/z_4.json", keepSlash: true) == "dossier%20%C3%A9t%C3%A9/journal/z_4.json")
        #expect(SharedKeySigner(accountName: "a", accountKey: Secret("not base64!")) == nil)
    }
}
