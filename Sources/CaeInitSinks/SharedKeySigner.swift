import CaeInitCore
import Crypto

/// Azure Storage Shared Key signing (Blob service, version 2015-02-21 and later). Pure: headers, including
/// `x-ms-date`, come from the caller, so the string to sign can be compared with what Microsoft's SDK computes.
public struct SharedKeySigner: Sendable {
    public let accountName: String
    /// The decoded account key (bytes: `SymmetricKey` is not `Sendable`).
    private let key: [UInt8]

    /// The standard headers, in string-to-sign order. `Content-Length` "0" is signed as empty (2015-02-21+).
    public static let standardHeaders = [
        "content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
        "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
    ]

    /// Nil when `accountKey` is not base64 (the configuration parser refuses those already).
    public init?(accountName: String, accountKey: Secret) {
        guard let bytes = Base64.decode(accountKey.value) else { return nil }
        self.accountName = accountName
        self.key = bytes
    }

    public struct SignedRequest: Sendable {
        public var stringToSign: String
        /// Base64 HMAC-SHA256.
        public var signature: String
        /// `SharedKey <account>:<signature>`. Never log it.
        public var authorization: String
    }

    /// Signs a request. `path` is the URL path exactly as sent (percent-encoded, with an emulator's `/<account>`
    /// prefix when there is one); `query` holds decoded names and values.
    public func sign(method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)]) -> SignedRequest {
        let stringToSign = Self.stringToSign(method: method, accountName: accountName, path: path, query: query, headers: headers)
        let signature = signature(stringToSign: stringToSign)
        return SignedRequest(stringToSign: stringToSign, signature: signature, authorization: "SharedKey \(accountName):\(signature)")
    }

    public func signature(stringToSign: String) -> String {
        Base64.encode(Array(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: SymmetricKey(data: key))))
    }

    public static func stringToSign(method: String, accountName: String, path: String, query: [(name: String, value: String)], headers: [(name: String, value: String)]) -> String {
        var lines = [method.uppercased()]
        for name in standardHeaders {
            var value = headers.filter { $0.name.lowercased() == name }.map(\.value).joined(separator: ",")
            if name == "content-length", value == "0" { value = "" }
            lines.append(value)
        }
        return lines.joined(separator: "\n") + "\n" + canonicalizedHeaders(headers) + canonicalizedResource(accountName: accountName, path: path, query: query)
    }

    /// Every `x-ms-` header as `name:value\n`, names lower-cased and sorted, values trimmed with inner white space
    /// collapsed.
    public static func canonicalizedHeaders(_ headers: [(name: String, value: String)]) -> String {
        var values: [String: [String]] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix("x-ms-") {
            values[name.lowercased(), default: []].append(SigV4Signer.collapseWhitespace(value))
        }
        return values.keys
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { "\($0):\(values[$0]!.joined(separator: ","))\n" }
            .joined()
    }

    /// `/<account><path>`, then one `\nname:value` line per query parameter, names lower-cased and sorted, a
    /// repeated name's values sorted and joined with commas.
    public static func canonicalizedResource(accountName: String, path: String, query: [(name: String, value: String)]) -> String {
        var resource = "/\(accountName)\(path)"
        var values: [String: [String]] = [:]
        for (name, value) in query {
            values[name.lowercased(), default: []].append(value)
        }
        for name in values.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            resource += "\n\(name):\(values[name]!.sorted().joined(separator: ","))"
        }
        return resource
    }
}
