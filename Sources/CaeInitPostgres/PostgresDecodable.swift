/// A type a column's text value decodes to. A value that does not fit is an error naming the column, never a
/// silent default.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value; nil when the text is not of this type.
    init?(postgresText text: String)
    /// Whether SQL NULL is a value of this type (only `Optional`).
    static var acceptsNull: Bool { get }
    /// The value SQL NULL decodes to, for the types that accept it.
    static var null: Self? { get }
    /// How the type is named in errors.
    static var postgresTypeName: String { get }
}

extension PostgresDecodable {
    public static var acceptsNull: Bool { false }
    public static var null: Self? { nil }
}

extension String: PostgresDecodable {
    public init?(postgresText text: String) { self = text }
    public static var postgresTypeName: String { "text" }
}

extension Int: PostgresDecodable {
    public init?(postgresText text: String) { self.init(text) }
    public static var postgresTypeName: String { "an integer" }
}

extension Int64: PostgresDecodable {
    public init?(postgresText text: String) { self.init(text) }
    public static var postgresTypeName: String { "a 64-bit integer" }
}

extension Double: PostgresDecodable {
    public init?(postgresText text: String) { self.init(text) }
    public static var postgresTypeName: String { "a number" }
}

extension Bool: PostgresDecodable {
    public init?(postgresText text: String) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }

    public static var postgresTypeName: String { "a boolean" }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init?(postgresText text: String) {
        guard let value = Wrapped(postgresText: text) else { return nil }
        self = .some(value)
    }

    public static var acceptsNull: Bool { true }
    public static var null: Self? { .some(.none) }
    public static var postgresTypeName: String { Wrapped.postgresTypeName }
}
