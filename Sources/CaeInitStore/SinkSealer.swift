import CaeInitCore
import Crypto

/// Turns a subscription's `sink` into what `cae_subscription.sink` holds, and back: every write of that column goes
/// through `seal`, every read through `open`, so that secrets at rest are handled in one place.
///
/// With keys, each secret credential (`SinkConfiguration.secretFields`) is stored as
/// `cae-sealed:v1:<key id>:<base64 of AES-256-GCM nonce‖ciphertext‖tag>`, the field name bound as authenticated
/// data: a database dump shows no secret. The first key seals; every key opens, so that keys can be rotated
/// (`cae-init secrets rotate`) while old rows are still readable. Without keys secrets are stored as given.
public struct SinkSealer: Sendable {
    public struct Key: Sendable {
        /// The first 16 hex digits of the key's SHA-256: names the key in stored values and errors, reveals nothing.
        public let id: String
        /// Kept as bytes: `SymmetricKey` is not `Sendable` in this swift-crypto.
        let bytes: [UInt8]
        var key: SymmetricKey { SymmetricKey(data: bytes) }

        /// A 256-bit key.
        public init(bytes: [UInt8]) throws(SealingError) {
            guard bytes.count == 32 else {
                throw SealingError("a secrets key must be 32 bytes (base64 of 32 random bytes, e.g. `openssl rand -base64 32`), found \(bytes.count)")
            }
            self.bytes = bytes
            id = SHA256.hash(data: bytes).prefix(8).map { byte in
                let hex = Array("0123456789abcdef")
                return String([hex[Int(byte >> 4)], hex[Int(byte & 0xf)]])
            }.joined()
        }
    }

    /// Stores secrets as they are (no key configured).
    public static let plaintext = SinkSealer(keys: [])

    static let prefix = "cae-sealed:v1:"

    /// The first seals, all open.
    public let keys: [Key]

    public init(keys: [Key]) { self.keys = keys }

    /// A keyring from its text: base64 keys separated by commas or new lines, the sealing key first.
    public init(keyring text: String) throws(SealingError) {
        var keys: [Key] = []
        for (index, part) in text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\r" }).enumerated() {
            let encoded = part.trimmingCharacters(in: " \t")
            guard !encoded.isEmpty else { continue }
            guard let bytes = Base64.decode(encoded) else { throw SealingError("secrets key #\(index + 1) is not valid base64") }
            keys.append(try Key(bytes: bytes))
        }
        guard !keys.isEmpty else { throw SealingError("the secrets keyring holds no key") }
        self.init(keys: keys)
    }

    /// Whether secrets are encrypted at rest.
    public var isSealing: Bool { !keys.isEmpty }

    /// The stored form of `sink`: plaintext secrets sealed under the first key. Values already sealed stay as they are.
    public func seal(_ sink: JSONObject) throws -> JSONObject {
        guard let key = keys.first else { return sink }
        return try mapSecrets(in: sink) { field, value throws(SealingError) in
            if value.hasPrefix(Self.prefix) { return value }
            do {
                let box = try AES.GCM.seal(Array(value.utf8), using: key.key, authenticating: Array(field.utf8))
                guard let combined = box.combined else { throw SealingError("AES-GCM gave no combined box") }
                return Self.prefix + key.id + ":" + Base64.encode(combined)
            } catch let error as SealingError {
                throw error
            } catch {
                throw SealingError("sealing sink.credentials.\(field) failed")
            }
        }
    }

    /// The sink as the sinks use it, from its stored form. A secret sealed under a key this process was not given,
    /// or altered, is an error naming the field and the key id.
    public func open(_ stored: JSONObject) throws -> JSONObject {
        try mapSecrets(in: stored) { field, value throws(SealingError) in
            guard value.hasPrefix(Self.prefix) else { return value }
            let rest = value.dropFirst(Self.prefix.count)
            guard let colon = rest.firstIndex(of: ":") else { throw SealingError("sink.credentials.\(field) is a malformed sealed value") }
            let keyId = String(rest[..<colon])
            guard let key = keys.first(where: { $0.id == keyId }) else {
                throw SealingError("sink.credentials.\(field) is sealed with secrets key \(keyId), which this process was not given (set CAE_INIT_SECRETS_KEY)")
            }
            guard let combined = Base64.decode(String(rest[rest.index(after: colon)...])),
                  let box = try? AES.GCM.SealedBox(combined: combined),
                  let plain = try? AES.GCM.open(box, using: key.key, authenticating: Array(field.utf8))
            else {
                throw SealingError("sink.credentials.\(field) does not open with secrets key \(keyId): the stored value was altered")
            }
            return String(decoding: plain, as: UTF8.self)
        }
    }

    /// Whether `stored` holds a secret in clear or sealed under another key than the sealing one.
    public func needsResealing(_ stored: JSONObject) -> Bool {
        var needs = false
        _ = try? mapSecrets(in: stored) { _, value throws(SealingError) in
            if let key = keys.first {
                if !value.hasPrefix(Self.prefix + key.id + ":") { needs = true }
            } else if value.hasPrefix(Self.prefix) {
                needs = true
            }
            return value
        }
        return needs
    }

    private func mapSecrets(in sink: JSONObject, _ transform: (String, String) throws(SealingError) -> String) throws(SealingError) -> JSONObject {
        guard var credentials = sink["credentials"]?.objectValue else { return sink }
        for field in SinkConfiguration.secretFields.sorted() {
            if case .string(let value)? = credentials[field] {
                credentials[field] = .string(try transform(field, value))
            }
        }
        var result = sink
        result["credentials"] = .object(credentials)
        return result
    }
}

/// A secrets key or sealed value that cannot be used; never holds a secret.
public struct SealingError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let first = s.first, set.contains(first) { s = s.dropFirst() }
        while let last = s.last, set.contains(last) { s = s.dropLast() }
        return String(s)
    }
}
