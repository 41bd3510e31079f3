import CaeInitCore
import CaeInitPostgres

/// The dossier data: reads for an initialisation (one consistent snapshot, rows streamed) and fixture loading.
public struct DossierStore: Sendable {
    public let connection: PostgresConnection

    public init(connection: PostgresConnection) { self.connection = connection }

    static func table(_ kind: ObjectKind) -> String { "cae_\(kind.rawValue)" }

    static func columns(_ kind: ObjectKind) -> String {
        (["id", "valid_from", "valid_to"] + kind.fields.map(\.column)).joined(separator: ", ")
    }

    // MARK: Snapshot reads

    /// Runs `body` inside the one `REPEATABLE READ READ ONLY` transaction every read of an initialisation goes
    /// through, so journals, comptes and écritures agree.
    public func withSnapshot<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await connection.withTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// The dossier's situation periods; a reference date that is not an integer is an error naming the column.
    public func periods(entiteId: String) async throws(PostgresError) -> [SituationPeriod] {
        try await connection.query(
            "SELECT id::text, reference_date, libelle FROM cae_situation_period WHERE entite_id = \(entiteId)::uuid ORDER BY reference_date, id"
        ).decode(String.self, Int64.self, String?.self).map { SituationPeriod(id: $0.0, referenceDate: $0.1, libelle: $0.2) }
    }

    /// Streams one kind's versions of a dossier ordered by id: the current table only, or with `includeHistory`
    /// merged with the history table, so that each object's chain arrives in one piece (its versions in any order:
    /// `VersionChainGrouper` sorts each chain by validFrom).
    ///
    /// The history read is a `UNION ALL` filtered on the outside and ordered by id alone, which PostgreSQL runs as a
    /// Merge Append of the two primary-key index scans: no Sort node, so nothing spills to temporary files however
    /// large the dossier (ordering by (id, valid_from) would add an Incremental Sort, and filtering inside each
    /// branch keeps the planner from the merge). See bench/README.md for the plan.
    public func versions(_ kind: ObjectKind, entiteId: String, includeHistory: Bool) async throws(PostgresError) -> VersionStream {
        let columns = Self.columns(kind)
        let table = Self.table(kind)
        let query: PostgresQuery = includeHistory
            ? """
              SELECT \(unescaped: columns) FROM (
                  SELECT entite_id, \(unescaped: columns) FROM \(unescaped: table)
                  UNION ALL
                  SELECT entite_id, \(unescaped: columns) FROM \(unescaped: table)_history
              ) AS versions WHERE entite_id = \(entiteId)::uuid ORDER BY id
              """
            : "SELECT \(unescaped: columns) FROM \(unescaped: table) WHERE entite_id = \(entiteId)::uuid ORDER BY id"
        return VersionStream(kind: kind, rows: try await connection.stream(query))
    }

    /// Every version of the dossier in the snapshot: its current rows, plus its history rows with `includeHistory`
    /// (the total of a pending filter's progress). Counted on the primary-key indexes.
    public func versionCount(entiteId: String, includeHistory: Bool) async throws(PostgresError) -> Int {
        let tables = ObjectKind.allCases.flatMap { includeHistory ? [Self.table($0), Self.table($0) + "_history"] : [Self.table($0)] }
        var query = PostgresQuery(unsafeSQL: "SELECT 0")
        for table in tables {
            query.sql += " + (SELECT count(*) FROM \(table) WHERE entite_id = $1::uuid)"
        }
        query.binds = [entiteId]
        return try await connection.query(query).decode(Int.self).first ?? 0
    }

    // MARK: Fixtures

    /// Replaces the fixtures' dossiers with their content, all in one transaction: on any error nothing changes.
    public func load(_ fixtures: [DossierFixture]) async throws {
        try await connection.withTransaction {
            for fixture in fixtures { try await replace(fixture) }
        }
    }

    private func replace(_ fixture: DossierFixture) async throws(PostgresError) {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(fixture.entiteId)))")
        for table in ["cae_situation_period"] + ObjectKind.allCases.flatMap({ [Self.table($0), Self.table($0) + "_history"] }) {
            try await connection.query("DELETE FROM \(unescaped: table) WHERE entite_id = \(fixture.entiteId)::uuid")
        }
        let periods = JSONValue.array(fixture.periods.map {
            ["id": .string($0.id), "reference_date": .number(String($0.referenceDate)), "libelle": $0.libelle.map(JSONValue.string) ?? .null]
        })
        try await connection.query("""
            INSERT INTO cae_situation_period (entite_id, id, reference_date, libelle)
            SELECT \(fixture.entiteId)::uuid, id, reference_date, libelle
            FROM jsonb_to_recordset(\(periods.serialized())::jsonb) AS x(id uuid, reference_date bigint, libelle text)
            """)
        for kind in ObjectKind.allCases {
            let versions = fixture.versions[kind] ?? []
            let recordType = (["id uuid", "valid_from bigint", "valid_to bigint"] + kind.fields.map { "\($0.column) \($0.type.sqlType)" }).joined(separator: ", ")
            let columns = Self.columns(kind)
            for (isCurrent, table) in [(true, Self.table(kind)), (false, Self.table(kind) + "_history")] {
                let selected = versions.filter { $0.isCurrent == isCurrent }
                var start = 0
                // Batches keep each statement's parameter a few MB at most.
                while start < selected.count {
                    let batch = selected[start..<min(start + 2000, selected.count)]
                    let records = JSONValue.array(batch.map { version in
                        var record = JSONObject()
                        record.appendUnchecked("id", .string(version.id))
                        record.appendUnchecked("valid_from", .number(String(version.validFrom)))
                        record.appendUnchecked("valid_to", .number(String(version.validTo)))
                        for (spec, value) in zip(kind.fields, version.fields) { record.appendUnchecked(spec.column, value) }
                        return .object(record)
                    })
                    try await connection.query("""
                        INSERT INTO \(unescaped: table) (entite_id, \(unescaped: columns))
                        SELECT \(fixture.entiteId)::uuid, \(unescaped: columns) FROM jsonb_to_recordset(\(records.serialized())::jsonb) AS x(\(unescaped: recordType))
                        """)
                    start += batch.count
                }
            }
        }
    }
}
