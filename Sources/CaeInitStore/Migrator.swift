import CaeInitPostgres
import CaeInitSchema

/// Applies the embedded migrations in order, each once, in its own transaction, under an advisory lock so that
/// several processes migrating at once apply each migration exactly once.
public struct Migrator: Sendable {
    public let connection: PostgresConnection
    /// Advisory lock key shared by every `cae-init migrate`.
    static let lockKey = "7283911120041"

    public init(connection: PostgresConnection) { self.connection = connection }

    /// Returns the versions applied by this call (empty when the database was up to date).
    @discardableResult
    public func migrate() async throws(PostgresError) -> [Int] {
        try await connection.execute("""
            CREATE TABLE IF NOT EXISTS cae_schema_migration (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int] = []
        for migration in SchemaMigrations.all {
            try await connection.execute("BEGIN")
            do throws(PostgresError) {
                try await connection.query("SELECT pg_advisory_xact_lock($1::bigint)", [Self.lockKey])
                let done = try await connection.query("SELECT 1 FROM cae_schema_migration WHERE version = $1", [String(migration.version)])
                if done.isEmpty {
                    try await connection.execute(migration.sql)
                    try await connection.query("INSERT INTO cae_schema_migration (version, name) VALUES ($1, $2)", [String(migration.version), migration.name])
                    applied.append(migration.version)
                }
                try await connection.execute("COMMIT")
            } catch {
                try? await connection.execute("ROLLBACK")
                throw error
            }
        }
        return applied
    }

    /// The highest applied version, or nil on a database never migrated.
    public func currentVersion() async throws(PostgresError) -> Int? {
        let exists = try await connection.query("SELECT to_regclass('cae_schema_migration') IS NOT NULL")
        guard exists.scalar() == "t" else { return nil }
        return try await connection.query("SELECT max(version) FROM cae_schema_migration").scalar().flatMap { Int($0) }
    }
}
