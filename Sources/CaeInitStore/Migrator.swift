import CaeInitPostgres
import CaeInitSchema

/// Applies the embedded migrations in order, each once, all in one transaction under an advisory lock taken
/// before anything else (the bookkeeping table included), so that several processes migrating at once wait for
/// each other and apply each migration exactly once.
public struct Migrator: Sendable {
    public let connection: PostgresConnection
    /// Advisory lock key shared by every `cae-init migrate`.
    static let lockKey: Int64 = 7_283_911_120_041

    public init(connection: PostgresConnection) { self.connection = connection }

    /// Returns the versions applied by this call (empty when the database was up to date).
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await connection.withTransaction {
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            try await connection.execute("""
                CREATE TABLE IF NOT EXISTS cae_schema_migration (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            let done = Set(try await connection.query("SELECT version FROM cae_schema_migration").decode(Int.self))
            var applied: [Int] = []
            for migration in SchemaMigrations.all where !done.contains(migration.version) {
                try await connection.execute(migration.sql)
                try await connection.query("INSERT INTO cae_schema_migration (version, name) VALUES (\(migration.version), \(migration.name))")
                applied.append(migration.version)
            }
            return applied
        }
    }

    /// The highest applied version, or nil on a database never migrated.
    public func currentVersion() async throws(PostgresError) -> Int? {
        let exists = try await connection.query("SELECT to_regclass('cae_schema_migration') IS NOT NULL").decode(Bool.self)
        guard exists.first == true else { return nil }
        return try await connection.query("SELECT max(version) FROM cae_schema_migration").decode(Int?.self).first ?? nil
    }
}
