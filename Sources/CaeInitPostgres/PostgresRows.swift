/// The rows of a completed query, in text format.
public struct PostgresRows: Sendable {
    public let columns: [String]
    public let rows: [[String?]]
    /// What `PQcmdTuples` reports: rows inserted, updated, deleted or returned.
    public let affectedRows: Int

    public init(columns: [String], rows: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public var first: [String?]? { rows.first }
    public var isEmpty: Bool { rows.isEmpty }

    /// The rows with their column names, for typed decoding.
    public var typed: [PostgresRow] { rows.map { PostgresRow(columns: columns, values: $0) } }

    /// The first column of every row, decoded.
    public func decode<T: PostgresDecodable>(_ type: T.Type) throws(PostgresError) -> [T] {
        var decoded: [T] = []
        decoded.reserveCapacity(rows.count)
        for row in typed { decoded.append(try row.column(0, as: type)) }
        return decoded
    }

    /// Every row decoded: `try rows.decode(String.self, Int?.self)`; errors name the column.
    public func decode<each T: PostgresDecodable>(_ types: repeat (each T).Type) throws(PostgresError) -> [(repeat each T)] {
        var decoded: [(repeat each T)] = []
        decoded.reserveCapacity(rows.count)
        for row in typed { decoded.append(try row.decode(repeat each types)) }
        return decoded
    }

    /// The value of `column` in the first row.
    public func scalar(_ column: Int = 0) -> String? { rows.first.flatMap { $0[column] } }
}
