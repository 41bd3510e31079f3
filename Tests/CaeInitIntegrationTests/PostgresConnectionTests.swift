import CaeInitPostgres
import CaeInitTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 7: the libpq wrapper against a real server: cancellation, close, typed decoding, bound values.
@Suite("PostgreSQL connection")
struct PostgresConnectionTests {
    @Test("a cancelled task waiting on a long statement ends at once: the server cancels it")
    func cancelLongStatement() async throws {
        let connection = try await PostgresConnection.connect(try TestDatabase.adminURL())
        let started = ContinuousClock.now
        let task = Task { try await connection.query("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        await #expect(throws: PostgresError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(10), "cancelled long before the 30 s sleep ends")
        // The connection is usable again afterwards.
        #expect(try await connection.query("SELECT \(41) + 1").decode(Int.self) == [42])
    }

    @Test("a connection attempt that never gets an answer is ended by cancellation, and by its timeout")
    func cancelStuckConnect() async throws {
        // A socket that listens but never answers: the kernel accepts the TCP handshake, libpq then waits forever.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(listen(fd, 16) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let url = "postgresql://postgres@127.0.0.1:\(UInt16(bigEndian: address.sin_port))/postgres"

        let started = ContinuousClock.now
        let task = Task { try await PostgresConnection.connect(url, timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let error = await #expect(throws: PostgresError.self) { _ = try await task.value }
        #expect(error?.code == .cancelled)
        #expect(ContinuousClock.now - started < .seconds(10), "cancelled long before its 60 s timeout")

        let timedOut = await #expect(throws: PostgresError.self) { _ = try await PostgresConnection.connect(url, timeout: .milliseconds(500)) }
        #expect(timedOut?.code == .connectionFailed)
        #expect(timedOut?.message.contains("timed out") == true)
    }

    @Test("close() ends the connection: later statements fail with closed")
    func closeConnection() async throws {
        let connection = try await PostgresConnection.connect(try TestDatabase.adminURL())
        await connection.close()
        let error = await #expect(throws: PostgresError.self) { try await connection.query("SELECT 1") }
        #expect(error?.code == .closed)
        await connection.close()
    }

    @Test("values are bound where they appear, never spliced into the SQL; a NUL is refused, not cut")
    func boundValues() async throws {
        let connection = try await PostgresConnection.connect(try TestDatabase.adminURL())
        let hostile = "'); DROP TABLE x; --"
        let rows = try await connection.query("SELECT \(hostile)::text, \(Int64(1) << 40)::bigint, \(true), \(String?.none)::text, \(["a\"b", "c\\d", "e,f"])::text[]")
        let (text, big, flag, missing, array) = try #require(try rows.decode(String.self, Int64.self, Bool.self, String?.self, String.self).first)
        #expect(text == hostile)
        #expect(big == 1 << 40)
        #expect(flag)
        #expect(missing == nil)
        #expect(array == #"{"a\"b","c\\d","e,f"}"#)
        let nul = await #expect(throws: PostgresError.self) { try await connection.query("SELECT \("a\u{0}b")::text") }
        #expect(nul?.code == .invalidParameter)
    }

    @Test("typed decoding names the column of a value that does not fit, instead of a default")
    func typedDecoding() async throws {
        let connection = try await PostgresConnection.connect(try TestDatabase.adminURL())
        let rows = try await connection.query("SELECT 'abc'::text AS attempt, NULL::bigint AS reference_date")
        let notInt = #expect(throws: PostgresError.self) { _ = try rows.decode(Int.self, Int64?.self) }
        #expect(notInt?.message.contains("column attempt") == true)
        let null = #expect(throws: PostgresError.self) { _ = try rows.typed[0].column(1, as: Int64.self) }
        #expect(null?.message.contains("column reference_date is NULL") == true)
        #expect(try rows.typed[0].column(1, as: Int64?.self) == nil)
    }

    @Test("a malformed connection string is refused without repeating it (the password stays out)", arguments: [
        "postgresql://cae:S3cretPassw0rd@127.0.0.1:5432/db?x=%zz",
        "postgresql://cae:S3cretPassw0rd@[::1",
        "postgresql://cae:S3cretPassw0rd%00@127.0.0.1/db",
        "host=127.0.0.1 password='S3cretPassw0rd",
    ])
    func malformedConninfo(_ url: String) async throws {
        let error = await #expect(throws: PostgresError.self) { _ = try await PostgresConnection.connect(url) }
        #expect(error?.code == .invalidConnectionString)
        #expect(error.map { !"\($0)".contains("S3cretPassw0rd") } == true, "\(String(describing: error))")
        #expect(!Conninfo.redacted(url).contains("S3cretPassw0rd"))
    }
}
