import CLibPQ
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection. Every libpq call runs on the connection's own serial queue, so blocking network I/O
/// never occupies the cooperative thread pool and the connection is used by one task at a time.
///
/// `@unchecked Sendable`: the `PGconn` and the streaming state are only touched on `queue`.
public final class PostgresConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private let queue: DispatchQueue
    /// The connection string without its password, for errors and logs.
    public let conninfo: String
    /// Set while a `PostgresRowStream` owns the connection.
    private var streaming = false

    private init(handle: OpaquePointer, queue: DispatchQueue, conninfo: String) {
        self.handle = handle
        self.queue = queue
        self.conninfo = conninfo
    }

    deinit { PQfinish(handle) }

    /// Connects with `PQconnectdbParams`; `conninfo` may be `key=value` pairs or a `postgresql://` URI.
    public static func connect(
        _ conninfo: String,
        applicationName: String = "cae-init",
        connectTimeoutSeconds: Int = 10
    ) async throws(PostgresError) -> PostgresConnection {
        let redacted = Conninfo.redacted(conninfo)
        let queue = DispatchQueue(label: "cae-init.postgres")
        let result: Result<PostgresConnection, PostgresError> = await withCheckedContinuation { continuation in
            queue.async {
                // Later keywords override earlier ones: the caller's conninfo (expanded from `dbname`) wins over
                // our defaults.
                let keywords = ["application_name", "connect_timeout", "dbname"]
                let values = [applicationName, String(connectTimeoutSeconds), conninfo]
                let handle = withCStringArray(keywords) { keywordPointers in
                    withCStringArray(values) { valuePointers in
                        PQconnectdbParams(keywordPointers, valuePointers, 1)
                    }
                }
                guard let handle else {
                    continuation.resume(returning: .failure(PostgresError(code: .connectionFailed, message: "out of memory", conninfo: redacted)))
                    return
                }
                guard PQstatus(handle) == CONNECTION_OK else {
                    let message = String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines()
                    PQfinish(handle)
                    continuation.resume(returning: .failure(PostgresError(code: .connectionFailed, message: message, conninfo: redacted)))
                    return
                }
                PQsetNoticeProcessor(handle, { _, _ in }, nil)
                continuation.resume(returning: .success(PostgresConnection(handle: handle, queue: queue, conninfo: redacted)))
            }
        }
        return try result.get()
    }

    /// Runs `body` on the connection's queue.
    func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws(PostgresError) -> T) async throws(PostgresError) -> T {
        let result: Result<T, PostgresError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(PostgresError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private func connectionError(_ fallback: String) -> PostgresError {
        let message = String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines()
        return PostgresError(
            code: PQstatus(handle) == CONNECTION_BAD ? .connectionLost : .unexpectedResult,
            message: message.isEmpty ? fallback : message,
            conninfo: conninfo
        )
    }

    /// Consumes a result that must be a command or tuples result; clears it and everything after it.
    private func collect(_ raw: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let raw else { throw connectionError("no result from server") }
        let result = PostgresResult(raw)
        // Drain to NULL so the connection is ready for the next command whatever happened.
        while let extra = PQgetResult(handle) { PQclear(extra) }
        switch result.status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(
                columns: result.columnNames,
                rows: (0..<result.rowCount).map(result.row),
                affectedRows: result.affectedRows
            )
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            throw result.error(conninfo: conninfo, connectionIsBad: PQstatus(handle) == CONNECTION_BAD)
        default:
            throw PostgresError(code: .unexpectedResult, message: "unexpected result status \(String(cString: PQresStatus(result.status)))", conninfo: conninfo)
        }
    }

    private func checkIdle() throws(PostgresError) {
        if streaming { throw PostgresError(code: .busy, message: "the connection is streaming rows", conninfo: conninfo) }
    }

    /// Runs one statement with text parameters (`$1`, `$2`, … ; `nil` is SQL NULL) and returns all its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) async throws(PostgresError) -> PostgresRows {
        try await onQueue { () throws(PostgresError) -> PostgresRows in
            try self.checkIdle()
            let raw = withOptionalCStringArray(parameters) { values in
                PQexecParams(self.handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
            return try self.collect(raw)
        }
    }

    /// Runs one or more statements without parameters (simple query protocol): migrations, `BEGIN`, `LISTEN`.
    public func execute(_ sql: String) async throws(PostgresError) {
        try await onQueue { () throws(PostgresError) in
            try self.checkIdle()
            guard PQsendQuery(self.handle, sql) == 1 else { throw self.connectionError("could not send query") }
            var firstError: PostgresError?
            while let raw = PQgetResult(self.handle) {
                let result = PostgresResult(raw)
                switch result.status {
                case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
                    if firstError == nil {
                        firstError = result.error(conninfo: self.conninfo, connectionIsBad: PQstatus(self.handle) == CONNECTION_BAD)
                    }
                default: break
                }
            }
            if let firstError { throw firstError }
            if PQstatus(self.handle) == CONNECTION_BAD { throw self.connectionError("connection lost") }
        }
    }

    /// Starts a query whose rows are read in batches (libpq single-row mode), so a result of any size streams
    /// through bounded memory. The connection runs nothing else until the stream ends or is closed.
    public func stream(_ sql: String, _ parameters: [String?] = []) async throws(PostgresError) -> PostgresRowStream {
        try await onQueue { () throws(PostgresError) -> PostgresRowStream in
            try self.checkIdle()
            let sent = withOptionalCStringArray(parameters) { values in
                PQsendQueryParams(self.handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
            guard sent == 1 else { throw self.connectionError("could not send query") }
            guard PQsetSingleRowMode(self.handle) == 1 else {
                while let extra = PQgetResult(self.handle) { PQclear(extra) }
                throw self.connectionError("could not enter single-row mode")
            }
            self.streaming = true
            return PostgresRowStream(connection: self)
        }
    }

    /// Reads up to `limit` rows of the running stream; nil once the query has completed.
    func nextRows(limit: Int) throws(PostgresError) -> [[String?]]? {
        guard streaming else { return nil }
        var rows: [[String?]] = []
        rows.reserveCapacity(limit)
        while rows.count < limit {
            guard let raw = PQgetResult(handle) else {
                streaming = false
                throw connectionError("the stream ended without a final status")
            }
            let result = PostgresResult(raw)
            switch result.status {
            case PGRES_SINGLE_TUPLE:
                rows.append(result.row(0))
            case PGRES_TUPLES_OK:
                while let extra = PQgetResult(handle) { PQclear(extra) }
                streaming = false
                return rows.isEmpty ? nil : rows
            default:
                let error = result.error(conninfo: conninfo, connectionIsBad: PQstatus(handle) == CONNECTION_BAD)
                while let extra = PQgetResult(handle) { PQclear(extra) }
                streaming = false
                throw error
            }
        }
        return rows
    }

    /// Abandons a running stream: asks the server to cancel, then drains what is left to NULL.
    func closeStream() {
        guard streaming else { return }
        if let cancel = PQgetCancel(handle) {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancel, &buffer, Int32(buffer.count))
            PQfreeCancel(cancel)
        }
        while let extra = PQgetResult(handle) { PQclear(extra) }
        streaming = false
    }

    func closeStreamOnQueue() async {
        _ = try? await onQueue { self.closeStream() }
    }

    /// Waits up to `timeout` for notifications on the channels this connection `LISTEN`s to.
    public func notifications(waitingUpTo timeout: Duration) async throws(PostgresError) -> [PostgresNotification] {
        try await onQueue { () throws(PostgresError) -> [PostgresNotification] in
            try self.checkIdle()
            var received = try self.drainNotifications()
            if !received.isEmpty { return received }
            var descriptor = pollfd(fd: PQsocket(self.handle), events: Int16(POLLIN), revents: 0)
            guard descriptor.fd >= 0 else { throw self.connectionError("connection has no socket") }
            let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            let ready = poll(&descriptor, 1, max(milliseconds, 0))
            if ready > 0 {
                received = try self.drainNotifications()
            }
            return received
        }
    }

    private func drainNotifications() throws(PostgresError) -> [PostgresNotification] {
        guard PQconsumeInput(handle) == 1 else { throw connectionError("connection lost while waiting for notifications") }
        var received: [PostgresNotification] = []
        while let notify = PQnotifies(handle) {
            received.append(PostgresNotification(
                channel: String(cString: notify.pointee.relname),
                payload: String(cString: notify.pointee.extra),
                backendPID: notify.pointee.be_pid
            ))
            PQfreemem(notify)
        }
        return received
    }
}

/// Reads a streaming query's rows in batches. Close it (or read it to the end) before using the connection again.
public final class PostgresRowStream: @unchecked Sendable {
    private let connection: PostgresConnection

    init(connection: PostgresConnection) { self.connection = connection }

    /// Up to `limit` rows; nil when the query has completed. Cancelling the task cancels the query.
    public func next(limit: Int = 1000) async throws(PostgresError) -> [[String?]]? {
        if Task.isCancelled {
            await close()
            throw PostgresError(code: .cancelled, message: "the task was cancelled", conninfo: connection.conninfo)
        }
        return try await connection.onQueue { () throws(PostgresError) -> [[String?]]? in
            try self.connection.nextRows(limit: limit)
        }
    }

    /// Cancels the query on the server and drains the connection; harmless once the stream has ended.
    public func close() async {
        await connection.closeStreamOnQueue()
    }
}

/// Calls `body` with a NULL-terminated-string array over one contiguous buffer that lives only for the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withOptionalCStringArray(strings.map(Optional.some)) { pointers in
        // keyword/value arrays end with a NULL entry.
        body(pointers!)
    }
}

/// Like `withCStringArray`, `nil` entries becoming NULL pointers (SQL NULL parameters). The array gets a
/// trailing NULL, which `PQconnectdbParams` needs and `PQexecParams` ignores.
func withOptionalCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    var storage: [CChar] = []
    var offsets: [Int?] = []
    for string in strings {
        guard let string else { offsets.append(nil); continue }
        offsets.append(storage.count)
        storage.append(contentsOf: string.utf8CString)
    }
    return storage.withUnsafeBufferPointer { buffer in
        var pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
            offset.map { buffer.baseAddress! + $0 }
        }
        pointers.append(nil)
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
