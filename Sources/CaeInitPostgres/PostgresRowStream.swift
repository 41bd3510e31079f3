/// Reads a streaming query's rows in batches. Close it (or read it to the end) before using the connection again.
public final class PostgresRowStream: Sendable {
    private let connection: PostgresConnection

    init(connection: PostgresConnection) { self.connection = connection }

    /// Up to `limit` rows; nil when the query has completed. Cancelling the task cancels the query on the server.
    public func next(limit: Int = 1000) async throws(PostgresError) -> PostgresRows? {
        do {
            return try await connection.nextRows(limit: limit)
        } catch {
            if error.code == .cancelled { await close() }
            throw error
        }
    }

    /// Cancels the query on the server and drains the connection; harmless once the stream has ended.
    public func close() async {
        await connection.closeStream()
    }
}
