/// Removes known secret values from text that is about to leave the process (an error message, a log line): a
/// remote service may echo what it was sent (a session token in `x-amz-security-token`, a query string) in the
/// error text it answers, and that text must not carry the secret into a filter's `message`.
///
/// Each secret is looked for as it is and in the forms it could take on the way: percent-encoded (upper- and
/// lower-case hex, as in a URL), JSON-escaped (`\/`) and base64 (standard and URL-safe, padded or not). Every
/// occurrence of any form is replaced by the secret's masked form (`Secret.mask`).
public struct SecretScrubber: Sendable {
    /// (form to look for, replacement), longest form first so that a form containing another is replaced whole.
    private let replacements: [(form: String, masked: String)]

    /// Empty secrets are ignored: there is nothing to hide in them.
    public init(_ secrets: [Secret]) {
        var seen = Set<String>()
        var replacements: [(form: String, masked: String)] = []
        for secret in secrets where !secret.value.isEmpty {
            for form in Self.forms(of: secret.value) where !form.isEmpty && seen.insert(form).inserted {
                replacements.append((form, secret.masked))
            }
        }
        self.init(replacements: replacements)
    }

    /// This scrubber and `secrets` too.
    public func adding(_ secrets: [Secret]) -> SecretScrubber {
        secrets.isEmpty ? self : SecretScrubber(replacements: replacements + SecretScrubber(secrets).replacements)
    }

    private init(replacements: [(form: String, masked: String)]) {
        self.replacements = replacements.sorted { $0.form.utf8.count > $1.form.utf8.count }
    }

    /// Whether there is any secret to look for.
    public var isEmpty: Bool { replacements.isEmpty }

    /// `text` with every occurrence of every form of every secret replaced by its masked form. Matched on UTF-8
    /// bytes, not characters, so that a combining mark echoed right after a secret cannot hide it.
    public func scrub(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var changed = false
        for (form, masked) in replacements {
            let formBytes = Array(form.utf8)
            guard bytes.count >= formBytes.count else { continue }
            var output: [UInt8] = []
            var index = 0
            var found = false
            while index < bytes.count {
                if bytes[index] == formBytes[0], index + formBytes.count <= bytes.count,
                   bytes[index..<index + formBytes.count].elementsEqual(formBytes) {
                    output += masked.utf8
                    index += formBytes.count
                    found = true
                } else {
                    output.append(bytes[index])
                    index += 1
                }
            }
            if found {
                bytes = output
                changed = true
            }
        }
        // UTF-8 is self-synchronising: a valid sequence found in valid UTF-8 starts and ends on scalar boundaries.
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }

    /// The texts a secret may be seen as in an echoed request or response.
    static func forms(of value: String) -> [String] {
        let bytes = Array(value.utf8)
        let base64 = Base64.encode(bytes)
        let unpadded = String(base64.prefix { $0 != "=" })
        let urlSafe = String(unpadded.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
        return [
            value,
            percentEncoded(bytes, hexDigits: Array("0123456789ABCDEF".utf8)),
            percentEncoded(bytes, hexDigits: Array("0123456789abcdef".utf8)),
            value.replacing("/", with: "\\/"),
            // Unpadded forms are prefixes of the padded ones: looking for them finds both.
            unpadded,
            urlSafe,
        ]
    }

    /// RFC 3986: every byte but the unreserved characters as `%XX`.
    private static func percentEncoded(_ bytes: [UInt8], hexDigits: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 3)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            default:
                output += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
