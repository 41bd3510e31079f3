/// The `<Code>` and `<Message>` of an S3 or Azure XML error body. A plain scan: both services send a flat
/// `<Error>` document, and nothing else in it is needed (S3's `<StringToSign>` and `<CanonicalRequest>` are
/// deliberately not read, so they never reach a message).
public struct ServiceErrorBody: Sendable, Equatable {
    public var code: String?
    /// The first line of `<Message>`, whole: shortened only once secrets are scrubbed from it, so that no cut
    /// leaves a secret's start unrecognised.
    public var message: String?

    init(xml bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        code = Self.element("Code", in: text)
        // Azure appends `RequestId:…` and `Time:…` lines: the first line is the message.
        message = Self.element("Message", in: text)
            .flatMap { $0.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) }
    }

    /// `text` cut to `limit` characters, with `…` when cut.
    static func shortened(_ text: String, limit: Int = 300) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    /// The text of the first `<name>` element, unescaped and trimmed.
    public static func element(_ name: String, in text: String) -> String? {
        guard let open = text.firstRange(of: "<\(name)>"),
              let close = text[open.upperBound...].firstRange(of: "</\(name)>")
        else { return nil }
        let value = unescape(String(text[open.upperBound..<close.lowerBound])).trimmingWhitespace()
        return value.isEmpty ? nil : value
    }

    /// XML's five named entities and numeric character references (`&#43;`, `&#x2F;`), so that an echoed value
    /// reads, and is scrubbed, as what it is.
    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            rest = rest[ampersand...]
            guard let semicolon = rest.prefix(12).firstIndex(of: ";"),
                  let character = Self.character(named: rest[rest.index(after: ampersand)..<semicolon])
            else {
                result.append("&")
                rest = rest.dropFirst()
                continue
            }
            result.append(character)
            rest = rest[rest.index(after: semicolon)...]
        }
        return result + rest
    }

    private static func character(named entity: Substring) -> Character? {
        switch entity {
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        case "amp": return "&"
        default:
            guard entity.hasPrefix("#") else { return nil }
            let digits = entity.dropFirst()
            let value = digits.hasPrefix("x") || digits.hasPrefix("X") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            return value.flatMap { Unicode.Scalar($0) }.map { Character($0) }
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
