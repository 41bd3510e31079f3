import CLibPQ
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection. Every libpq call runs on the connection's own serial queue, so blocking network I/O
/// never occupies the cooperative thread pool and the connection serves one statement at a time. Cancelling the
/// task that waits on a statement sends `PQcancel` to the server, so a long sort or a lock wait ends at once.
///
/// `@unchecked Sendable`: `handle` and the streaming state are only touched on `queue`; `cancelHandle` is set
/// once before the connection is shared and `PQcancel` is thread-safe.
public final class PostgresConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private let cancelHandle: OpaquePointer?
    private let queue: DispatchQueue
    /// The connection string without its password, for errors and logs.
    public let conninfo: String
    /// Set while a `PostgresRowStream` owns the connection.
    private var streaming = false

    private init(handle: OpaquePointer, queue: DispatchQueue, conninfo: String) {
        self.handle = handle
        self.cancelHandle = PQgetCancel(handle)
        self.queue = queue
        self.conninfo = conninfo
    }

    deinit {
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        if let handle { PQfinish(handle) }
    }

    /// Connects; `conninfo` may be `key=value` pairs or a `postgresql://` URI. The connection is made without
    /// blocking (`PQconnectStartParams`/`PQconnectPoll`), so cancelling the task or `timeout` ends a stuck attempt.
    public static func connect(
        _ conninfo: String,
        applicationName: String = "cae-init",
        timeout: Duration = .seconds(10)
    ) async throws(PostgresError) -> PostgresConnection {
        try Conninfo.validate(conninfo)
        let redacted = Conninfo.redacted(conninfo)
        let queue = DispatchQueue(label: "cae-init.postgres")
        let cancelled = CancellationFlag()
        let result: Result<PostgresConnection, PostgresError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async {
                    continuation.resume(returning: Result { () throws(PostgresError) -> PostgresConnection in
                        let handle = try establish(conninfo, applicationName: applicationName, timeout: timeout, redacted: redacted, cancelled: cancelled)
                        return PostgresConnection(handle: handle, queue: queue, conninfo: redacted)
                    })
                }
            }
        } onCancel: {
            cancelled.set()
        }
        return try result.get()
    }

    /// Runs libpq's non-blocking connection state machine, polling the socket in short slices.
    private static func establish(
        _ conninfo: String, applicationName: String, timeout: Duration, redacted: String, cancelled: CancellationFlag
    ) throws(PostgresError) -> OpaquePointer {
        // Later keywords override earlier ones: the caller's conninfo (expanded from `dbname`) wins over ours.
        let keywords = ["application_name", "dbname"]
        let values = [applicationName, conninfo]
        let started = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in PQconnectStartParams(keywordPointers, valuePointers, 1) }
        }
        guard let handle = started else {
            throw PostgresError(code: .connectionFailed, message: "out of memory", conninfo: redacted)
        }
        func fail(_ code: PostgresError.Code, _ message: String) -> PostgresError {
            PQfinish(handle)
            return PostgresError(code: code, message: message, conninfo: redacted)
        }
        if PQstatus(handle) == CONNECTION_BAD {
            throw fail(.connectionFailed, String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines())
        }
        let deadline = ContinuousClock.now + timeout
        var state = PGRES_POLLING_WRITING
        while state != PGRES_POLLING_OK {
            if state == PGRES_POLLING_FAILED {
                throw fail(.connectionFailed, String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines())
            }
            if cancelled.isSet { throw fail(.cancelled, "the connection attempt was cancelled") }
            if ContinuousClock.now >= deadline { throw fail(.connectionFailed, "timed out after \(timeout) while connecting") }
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), revents: 0)
            if poll(&descriptor, 1, 100) != 0 {
                state = PQconnectPoll(handle)
            }
        }
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return handle
    }

    /// Closes the connection; later calls fail with `closed`. Harmless when already closed.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let handle = self.handle {
                    PQfinish(handle)
                    self.handle = nil
                }
                self.streaming = false
                continuation.resume()
            }
        }
    }

    /// Runs `body` on the connection's queue with the open handle. Cancelling the waiting task asks the server to
    /// cancel the statement in progress (the body then fails with `cancelled`).
    func onQueue<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws(PostgresError) -> T) async throws(PostgresError) -> T {
        if Task.isCancelled { throw PostgresError(code: .cancelled, message: "the task was cancelled", conninfo: conninfo) }
        let result: Result<T, PostgresError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async {
                    continuation.resume(returning: Result { () throws(PostgresError) -> T in
                        guard let handle = self.handle else {
                            throw PostgresError(code: .closed, message: "the connection is closed", conninfo: self.conninfo)
                        }
                        return try body(handle)
                    })
                }
            }
        } onCancel: {
            self.requestCancel()
        }
        return try result.get()
    }

    /// Asks the server to cancel what the connection runs. `PQcancel` opens a connection of its own, so it runs off
    /// the caller's thread (a cancellation handler must not block).
    private func requestCancel() {
        guard cancelHandle != nil else { return }
        DispatchQueue.global().async {
            var buffer = [CChar](repeating: 0, count: 256)
            // `self` keeps the PGcancel alive until the request is sent.
            _ = PQcancel(self.cancelHandle, &buffer, Int32(buffer.count))
        }
    }

    private func connectionError(_ handle: OpaquePointer, _ fallback: String) -> PostgresError {
        let message = String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines()
        return PostgresError(
            code: PQstatus(handle) == CONNECTION_BAD ? .connectionLost : .unexpectedResult,
            message: message.isEmpty ? fallback : message,
            conninfo: conninfo
        )
    }

    /// Consumes a result that must be a command or tuples result; clears it and everything after it.
    private func collect(_ handle: OpaquePointer, _ raw: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let raw else { throw connectionError(handle, "no result from server") }
        let result = PostgresResult(raw)
        // Drain to NULL so the connection is ready for the next command whatever happened.
        while let extra = PQgetResult(handle) { PQclear(extra) }
        switch result.status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(columns: result.columnNames, rows: (0..<result.rowCount).map(result.row), affectedRows: result.affectedRows)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            throw result.error(conninfo: conninfo, connectionIsBad: PQstatus(handle) == CONNECTION_BAD)
        default:
            throw PostgresError(code: .unexpectedResult, message: "unexpected result status \(String(cString: PQresStatus(result.status)))", conninfo: conninfo)
        }
    }

    private func checkIdle() throws(PostgresError) {
        if streaming { throw PostgresError(code: .busy, message: "the connection is streaming rows", conninfo: conninfo) }
    }

    /// Text parameters are C strings: a NUL would silently cut the value, so it is refused.
    private func checkBinds(_ binds: [String?]) throws(PostgresError) {
        for (index, value) in binds.enumerated() where value?.utf8.contains(0) == true {
            throw PostgresError(code: .invalidParameter, message: "parameter $\(index + 1) contains a NUL character, which PostgreSQL text cannot hold", conninfo: conninfo)
        }
    }

    /// Runs one statement, values bound where they appear, and returns all its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws(PostgresError) -> PostgresRows {
        try checkBinds(query.binds)
        return try await onQueue { (handle) throws(PostgresError) -> PostgresRows in
            try self.checkIdle()
            let raw = withOptionalCStringArray(query.binds) { values in
                PQexecParams(handle, query.sql, Int32(query.binds.count), nil, values, nil, nil, 0)
            }
            return try self.collect(handle, raw)
        }
    }

    /// Runs one statement with `$n` parameters given apart: for statements assembled at run time (tests, tools).
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?]) async throws(PostgresError) -> PostgresRows {
        try await query(PostgresQuery(unsafeSQL: sql, binds: parameters))
    }

    /// Runs one or more constant statements (simple query protocol: migrations, `LISTEN`). Never interpolate
    /// values into `script`: use `query`.
    public func execute(_ script: String) async throws(PostgresError) {
        try await onQueue { (handle) throws(PostgresError) in
            try self.checkIdle()
            guard PQsendQuery(handle, script) == 1 else { throw self.connectionError(handle, "could not send query") }
            var firstError: PostgresError?
            while let raw = PQgetResult(handle) {
                let result = PostgresResult(raw)
                switch result.status {
                case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
                    if firstError == nil {
                        firstError = result.error(conninfo: self.conninfo, connectionIsBad: PQstatus(handle) == CONNECTION_BAD)
                    }
                default: break
                }
            }
            if let firstError { throw firstError }
            if PQstatus(handle) == CONNECTION_BAD { throw self.connectionError(handle, "connection lost") }
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws (or is cancelled).
    public func withTransaction<T: Sendable>(
        _ begin: String = "BEGIN",
        _ body: () async throws -> T
    ) async throws -> T {
        try await execute(begin)
        do {
            let value = try await body()
            try await execute("COMMIT")
            return value
        } catch {
            // Rolled back even when the task is cancelled: a connection must never stay inside a transaction.
            await rollback()
            throw error
        }
    }

    /// `ROLLBACK`, in a task of its own so that a cancelled caller still leaves the connection outside a transaction.
    public func rollback() async {
        await Task { try? await self.execute("ROLLBACK") }.value
    }

    /// Starts a query whose rows are read in batches (libpq single-row mode), so a result of any size streams
    /// through bounded memory. The connection runs nothing else until the stream ends or is closed.
    public func stream(_ query: PostgresQuery) async throws(PostgresError) -> PostgresRowStream {
        try checkBinds(query.binds)
        return try await onQueue { (handle) throws(PostgresError) -> PostgresRowStream in
            try self.checkIdle()
            let sent = withOptionalCStringArray(query.binds) { values in
                PQsendQueryParams(handle, query.sql, Int32(query.binds.count), nil, values, nil, nil, 0)
            }
            guard sent == 1 else { throw self.connectionError(handle, "could not send query") }
            guard PQsetSingleRowMode(handle) == 1 else {
                while let extra = PQgetResult(handle) { PQclear(extra) }
                throw self.connectionError(handle, "could not enter single-row mode")
            }
            self.streaming = true
            return PostgresRowStream(connection: self)
        }
    }

    /// Reads up to `limit` rows of the running stream; nil once the query has completed.
    func nextRows(limit: Int) async throws(PostgresError) -> PostgresRows? {
        try await onQueue { (handle) throws(PostgresError) -> PostgresRows? in
            guard self.streaming else { return nil }
            var rows: [[String?]] = []
            var columns: [String] = []
            rows.reserveCapacity(limit)
            while rows.count < limit {
                guard let raw = PQgetResult(handle) else {
                    self.streaming = false
                    throw self.connectionError(handle, "the stream ended without a final status")
                }
                let result = PostgresResult(raw)
                switch result.status {
                case PGRES_SINGLE_TUPLE:
                    if columns.isEmpty { columns = result.columnNames }
                    rows.append(result.row(0))
                case PGRES_TUPLES_OK:
                    while let extra = PQgetResult(handle) { PQclear(extra) }
                    self.streaming = false
                    return rows.isEmpty ? nil : PostgresRows(columns: columns, rows: rows, affectedRows: rows.count)
                default:
                    let error = result.error(conninfo: self.conninfo, connectionIsBad: PQstatus(handle) == CONNECTION_BAD)
                    while let extra = PQgetResult(handle) { PQclear(extra) }
                    self.streaming = false
                    throw error
                }
            }
            return PostgresRows(columns: columns, rows: rows, affectedRows: rows.count)
        }
    }

    /// Abandons a running stream: asks the server to cancel, then drains what is left to NULL. Runs even when the
    /// calling task is cancelled.
    func closeStream() async {
        await Task {
            _ = try? await self.onQueue { (handle) throws(PostgresError) in
                guard self.streaming else { return }
                if let cancelHandle = self.cancelHandle {
                    var buffer = [CChar](repeating: 0, count: 256)
                    _ = PQcancel(cancelHandle, &buffer, Int32(buffer.count))
                }
                while let extra = PQgetResult(handle) { PQclear(extra) }
                self.streaming = false
            }
        }.value
    }

    /// Waits up to `timeout` for notifications on the channels this connection `LISTEN`s to.
    public func notifications(waitingUpTo timeout: Duration) async throws(PostgresError) -> [PostgresNotification] {
        try await onQueue { (handle) throws(PostgresError) -> [PostgresNotification] in
            try self.checkIdle()
            var received = try self.drainNotifications(handle)
            if !received.isEmpty { return received }
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            guard descriptor.fd >= 0 else { throw self.connectionError(handle, "connection has no socket") }
            let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            if poll(&descriptor, 1, max(milliseconds, 0)) > 0 {
                received = try self.drainNotifications(handle)
            }
            return received
        }
    }

    private func drainNotifications(_ handle: OpaquePointer) throws(PostgresError) -> [PostgresNotification] {
        guard PQconsumeInput(handle) == 1 else { throw connectionError(handle, "connection lost while waiting for notifications") }
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

/// Set once from a cancellation handler, read by the connecting loop.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
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
