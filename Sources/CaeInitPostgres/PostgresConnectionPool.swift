/// A small bounded pool of `PostgresConnection`s for concurrent requests: at most `maximumConnections` are open,
/// later callers wait their turn (first come, first served). A connection whose use failed with a transient
/// error (connection broken, server restarting) is closed instead of being handed to the next caller.
public actor PostgresConnectionPool {
    public let conninfo: String
    public let maximumConnections: Int
    let applicationName: String
    let connectTimeoutSeconds: Int

    private var idle: [PostgresConnection] = []
    /// Connections handed out plus connections being opened.
    private var inUse = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    public init(conninfo: String, maximumConnections: Int = 10, applicationName: String = "cae-init", connectTimeoutSeconds: Int = 5) {
        precondition(maximumConnections >= 1, "a pool needs at least one connection")
        self.conninfo = conninfo
        self.maximumConnections = maximumConnections
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// Runs `body` with a connection of its own. `body` must leave the connection idle (no open transaction, no
    /// stream): `SubscriptionStore.transaction` rolls back on failure.
    public func withConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            release(connection, reusable: true)
            return result
        } catch {
            release(connection, reusable: !((error as? PostgresError)?.isTransient ?? false) && !(error is CancellationError))
            throw error
        }
    }

    /// Closes the idle connections; connections in use close when they come back.
    public func close() {
        closed = true
        idle.removeAll()
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    /// Open connections (idle and in use), for tests and metrics.
    public var openConnections: Int { idle.count + inUse }

    private func acquire() async throws -> PostgresConnection {
        while true {
            if closed { throw PostgresError(code: .connectionFailed, message: "the connection pool is closed", conninfo: Conninfo.redacted(conninfo)) }
            if let connection = idle.popLast() {
                inUse += 1
                return connection
            }
            if inUse < maximumConnections {
                inUse += 1
                do {
                    return try await PostgresConnection.connect(conninfo, applicationName: applicationName, timeout: .seconds(connectTimeoutSeconds))
                } catch {
                    inUse -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    private func release(_ connection: PostgresConnection, reusable: Bool) {
        inUse -= 1
        if reusable && !closed { idle.append(connection) }
        // A connection not kept is closed when its last reference goes (deinit calls PQfinish).
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }
}
