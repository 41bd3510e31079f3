/// One row of a result, in text format, with its column names for errors.
public struct PostgresRow: Sendable {
    public let columns: [String]
    public let values: [String?]

    public init(columns: [String], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    /// The columns decoded in order: `let (id, attempt) = try row.decode(String.self, Int.self)`. A NULL in a
    /// non-optional column, or a value that is not of its type, throws an error naming the column.
    public func decode<each T: PostgresDecodable>(_ types: repeat (each T).Type) throws(PostgresError) -> (repeat each T) {
        var index = 0
        func next<U: PostgresDecodable>(_ type: U.Type) throws(PostgresError) -> U {
            defer { index += 1 }
            return try column(index, as: type)
        }
        return (repeat try next(each types))
    }

    /// The value of column `index`.
    public func column<U: PostgresDecodable>(_ index: Int, as type: U.Type) throws(PostgresError) -> U {
        let name = index < columns.count ? columns[index] : "#\(index + 1)"
        guard index < values.count else {
            throw PostgresError(code: .unexpectedResult, message: "the result has no column \(name)")
        }
        guard let text = values[index] else {
            if let null = U.null { return null }
            throw PostgresError(code: .unexpectedResult, message: "column \(name) is NULL, expected \(U.postgresTypeName)")
        }
        guard let value = U(postgresText: text) else {
            throw PostgresError(code: .unexpectedResult, message: "column \(name) holds \"\(text.prefix(40))\", not \(U.postgresTypeName)")
        }
        return value
    }
}
