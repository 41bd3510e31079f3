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
