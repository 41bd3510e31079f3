/// A PostgreSQL failure with what an operator needs to act: a code, the SQLSTATE, the server's message and the
/// connection string without its password. Its `description` never holds a password.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case connectionFailed, connectionLost, queryFailed, unexpectedResult, cancelled, busy, closed, invalidConnectionString, invalidParameter
        }

        let base: Base
        /// Could not connect (server down, refused, bad credentials).
        public static let connectionFailed = Code(base: .connectionFailed)
        /// The connection broke during a command.
        public static let connectionLost = Code(base: .connectionLost)
        /// The server refused a statement (see `sqlState`).
        public static let queryFailed = Code(base: .queryFailed)
        /// The server's answer was not what the caller asked for.
        public static let unexpectedResult = Code(base: .unexpectedResult)
        /// The query was cancelled.
        public static let cancelled = Code(base: .cancelled)
        /// The connection is streaming another query's rows.
        public static let busy = Code(base: .busy)
        /// The connection was closed by its owner.
        public static let closed = Code(base: .closed)
        /// The connection string cannot be parsed (the message never repeats it).
        public static let invalidConnectionString = Code(base: .invalidConnectionString)
        /// A parameter PostgreSQL cannot take (a NUL character in text).
        public static let invalidParameter = Code(base: .invalidParameter)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    public var constraint: String?
    /// The connection string the connection was made with, password removed.
    public var conninfo: String?

    public init(code: Code, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil, constraint: String? = nil, conninfo: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.conninfo = conninfo
    }

    /// Whether a later attempt may succeed: the connection failed or broke, or the server is shutting down or
    /// starting (SQLSTATE classes 08 and 57P), or a serialization/deadlock failure (40001, 40P01).
    public var isTransient: Bool {
        if code == .connectionFailed || code == .connectionLost { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") || sqlState == "40001" || sqlState == "40P01" || sqlState == "53300"
    }

    public var description: String {
        var text = "PostgreSQL \(code)"
        if let sqlState { text += " [\(sqlState)]" }
        text += ": \(message)"
        if let detail { text += " (detail: \(detail))" }
        if let hint { text += " (hint: \(hint))" }
        if let conninfo, code == .connectionFailed || code == .connectionLost { text += " (conninfo: \(conninfo))" }
        return text
    }
}
