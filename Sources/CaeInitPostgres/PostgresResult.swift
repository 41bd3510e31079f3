import CLibPQ

/// Owns one `PGresult`: cleared exactly once, when the owner goes.
final class PostgresResult {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { PQclear(pointer) }

    var status: ExecStatusType { PQresultStatus(pointer) }

    /// The error fields, copied out before the result is cleared.
    func error(conninfo: String, connectionIsBad: Bool) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(pointer, code) else { return nil }
            return String(cString: value)
        }
        let primary = field(CLibPQ_DIAG_MESSAGE_PRIMARY) ?? String(cString: PQresultErrorMessage(pointer)).trimmingTrailingNewlines()
        return PostgresError(
            code: connectionIsBad ? .connectionLost : (field(CLibPQ_DIAG_SQLSTATE) == "57014" ? .cancelled : .queryFailed),
            sqlState: field(CLibPQ_DIAG_SQLSTATE),
            message: primary.isEmpty ? "unknown error" : primary,
            detail: field(CLibPQ_DIAG_MESSAGE_DETAIL),
            hint: field(CLibPQ_DIAG_MESSAGE_HINT),
            constraint: field(CLibPQ_DIAG_CONSTRAINT_NAME),
            conninfo: conninfo
        )
    }

    var rowCount: Int { Int(PQntuples(pointer)) }
    var columnCount: Int { Int(PQnfields(pointer)) }

    var columnNames: [String] {
        (0..<Int32(columnCount)).map { String(cString: PQfname(pointer, $0)) }
    }

    func value(row: Int, column: Int) -> String? {
        let r = Int32(row)
        let c = Int32(column)
        if PQgetisnull(pointer, r, c) != 0 { return nil }
        let length = Int(PQgetlength(pointer, r, c))
        guard let start = PQgetvalue(pointer, r, c) else { return nil }
        return start.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    func row(_ index: Int) -> [String?] {
        (0..<columnCount).map { value(row: index, column: $0) }
    }

    var affectedRows: Int {
        guard let text = PQcmdTuples(pointer) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while s.last == "\n" || s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

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

/// A notification received on a `LISTEN` channel.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    public let backendPID: Int32
}
