import CaeInitCore
import CaeInitPostgres
import Crypto

/// API keys of the REST API. A key is 256 random bits, shown once at creation; the store keeps only its SHA-256
/// (a hash of a high-entropy key needs no salt or slow hash: it cannot be guessed from the hash).
public struct ApiKeyStore: Sendable {
    public let connection: PostgresConnection

    public init(connection: PostgresConnection) { self.connection = connection }

    /// The prefix of every key, so that a leaked key is recognisable (secret scanners, logs).
    public static let keyPrefix = "caek_"

    /// Creates a key; returns the key itself, to print once.
    public func create(name: String, scope: ApiKeyScope) async throws -> String {
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw StoreError(.invalidInput, "a key name must be 1 to 200 characters, without control characters")
        }
        if case .domains(let domains) = scope {
            guard !domains.isEmpty else { throw StoreError(.invalidInput, "give at least one domain, or all domains") }
            if domains.contains(where: { $0.isEmpty || $0.utf8.contains(0) }) { throw StoreError(.invalidInput, "a domain must not be empty") }
        }
        let key = Self.newKey()
        let inserted = try await connection.query("""
            INSERT INTO cae_api_key (name, key_hash, domains, all_domains)
            VALUES (\(name), \(Self.hash(key)), coalesce(\(scope.domainsJSON)::jsonb, '[]'), \(scope == .allDomains))
            ON CONFLICT (name) DO NOTHING
            """)
        if inserted.affectedRows == 0 {
            throw StoreError(.invalidInput, "an API key named \"\(name)\" already exists (names are never reused, even revoked)")
        }
        return key
    }

    public func list() async throws(PostgresError) -> [ApiKeyInfo] {
        let rows = try await connection.query("""
            SELECT name, all_domains, domains::text, \(unescaped: Self.timestamp("created_at")), \(unescaped: Self.timestamp("last_used_at")),
                   \(unescaped: Self.timestamp("revoked_at"))
            FROM cae_api_key ORDER BY created_at, name
            """)
        return rows.rows.map { row in
            ApiKeyInfo(name: row[0]!, scope: Self.scope(allDomains: row[1], domains: row[2]), createdAt: row[3]!, lastUsedAt: row[4], revokedAt: row[5])
        }
    }

    /// Revokes the key at once (the next request with it gets 401); false when there is no such active key.
    public func revoke(name: String) async throws(PostgresError) -> Bool {
        let rows = try await connection.query("UPDATE cae_api_key SET revoked_at = now() WHERE name = \(name) AND revoked_at IS NULL")
        return rows.affectedRows == 1
    }

    /// The identity of an active key, nil for an unknown or revoked one. Notes the use (at most once a minute).
    public func authenticate(_ key: String) async throws(PostgresError) -> ApiKeyIdentity? {
        guard key.hasPrefix(Self.keyPrefix), key.utf8.count < 200 else { return nil }
        let hash = Self.hash(key)
        let rows = try await connection.query("""
            WITH used AS (
                UPDATE cae_api_key SET last_used_at = now()
                WHERE key_hash = \(hash) AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
            )
            SELECT name, all_domains, domains::text FROM cae_api_key WHERE key_hash = \(hash) AND revoked_at IS NULL
            """)
        guard let row = rows.first else { return nil }
        return ApiKeyIdentity(name: row[0]!, scope: Self.scope(allDomains: row[1], domains: row[2]))
    }

    static func scope(allDomains: String?, domains: String?) -> ApiKeyScope {
        if allDomains == "t" { return .allDomains }
        let list = domains.flatMap { try? JSONValue.parse($0) }?.arrayValue ?? []
        return .domains(Set(list.compactMap(\.stringValue)))
    }

    static func timestamp(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    static func newKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var text = keyPrefix
        for _ in 0..<4 {
            var word = generator.next() as UInt64
            for _ in 0..<16 {
                text.append(digits[Int(word & 0xF)])
                word >>= 4
            }
        }
        return text
    }

    static func hash(_ key: String) -> String {
        SHA256.hash(data: Array(key.utf8)).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
    }
}
