/// A statement whose values are bound where they appear in its text: `"… WHERE id = \(id)"` is sent as
/// `… WHERE id = $1` with `id` as a separate parameter, never spliced into the SQL (postgres-nio's `PostgresQuery`).
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    /// The text sent to the server, with `$1`, `$2`, … placeholders.
    public var sql: String
    /// The parameters in text format; `nil` is SQL NULL.
    public var binds: [String?]

    /// A statement assembled at run time; the caller vouches that `sql` holds no untrusted text.
    public init(unsafeSQL sql: String, binds: [String?] = []) {
        self.sql = sql
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [String?] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { sql += literal }

        /// A value, sent as the next parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value.postgresText)
            sql += "$\(binds.count)"
        }

        /// An optional value: `nil` is SQL NULL.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            binds.append(value?.postgresText)
            sql += "$\(binds.count)"
        }

        /// Text that is part of the statement itself (a table or column list known to the code), never a value.
        public mutating func appendInterpolation(unescaped fragment: String) { sql += fragment }
    }
}

/// A value that can be sent as a text-format parameter.
public protocol PostgresEncodable: Sendable {
    /// The value in PostgreSQL's text input format.
    var postgresText: String { get }
}

extension String: PostgresEncodable {
    public var postgresText: String { self }
}

extension Int: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Int32: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Int64: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Double: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Bool: PostgresEncodable {
    public var postgresText: String { self ? "true" : "false" }
}

extension Duration: PostgresEncodable {
    /// Seconds, for `make_interval(secs => …)`.
    public var postgresText: String {
        String(Double(components.seconds) + Double(components.attoseconds) / 1e18)
    }
}

extension Array: PostgresEncodable where Element == String {
    /// An array literal (`{"a","b"}`), each element quoted and escaped.
    public var postgresText: String {
        "{" + map { element in
            var quoted = "\""
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { quoted.unicodeScalars.append("\\") }
                quoted.unicodeScalars.append(character)
            }
            return quoted + "\""
        }.joined(separator: ",") + "}"
    }
}
