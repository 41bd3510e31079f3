import CaeInitPostgres
import Foundation

/// The PostgreSQL server the suite runs against: `DATABASE_URL`, set by scripts/with-postgres.sh. Its absence
/// fails the tests: they never skip.
public enum TestDatabase {
    public static func adminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            throw TestFailure("DATABASE_URL is not set: run the suite with scripts/test.sh, which starts PostgreSQL")
        }
        return url
    }

    /// `url` with its database name replaced (URIs `postgresql://…/name` and `key=value` strings).
    public static func url(_ url: String, database: String) -> String {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            let withoutQuery = url.split(separator: "?", maxSplits: 1).map(String.init)
            let base = withoutQuery[0]
            let schemeEnd = base.range(of: "://")!.upperBound
            let hostPart = base[schemeEnd...].split(separator: "/", maxSplits: 1)[0]
            return base[..<schemeEnd] + hostPart + "/" + database + (withoutQuery.count > 1 ? "?" + withoutQuery[1] : "")
        }
        return url + " dbname=\(database)"
    }

    /// A new, migrated database for one test.
    public static func create(_ label: String = "t") async throws -> String {
        let admin = try await PostgresConnection.connect(try adminURL())
        let name = "cae_\(label)_\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
        try await admin.execute("CREATE DATABASE \(name)")
        let url = Self.url(try adminURL(), database: name)
        let result = try await CLI.run(["migrate"], database: url)
        guard result.status == 0 else { throw TestFailure("migrate failed: \(result.stderr)") }
        return url
    }
}
