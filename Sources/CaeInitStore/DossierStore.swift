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

    /// Opens the one `REPEATABLE READ READ ONLY` transaction every read of an initialisation goes through, so
    /// journals, comptes and écritures agree.
    public func beginSnapshot() async throws(PostgresError) {
        try await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    public func endSnapshot() async {
        try? await connection.execute("ROLLBACK")
    }

    public func periods(entiteId: String) async throws(PostgresError) -> [SituationPeriod] {
        let rows = try await connection.query(
            "SELECT id::text, reference_date, libelle FROM cae_situation_period WHERE entite_id = $1::uuid ORDER BY reference_date, id",
            [entiteId])
        return rows.rows.map { SituationPeriod(id: $0[0]!, referenceDate: Int64($0[1]!) ?? 0, libelle: $0[2]) }
    }

    /// Streams one kind's versions of a dossier ordered by (id, validFrom): the current table only, or with
    /// `includeHistory` merged with the history table, so that each object's chain arrives in one piece.
    public func versions(_ kind: ObjectKind, entiteId: String, includeHistory: Bool) async throws(PostgresError) -> VersionStream {
        let columns = Self.columns(kind)
        let table = Self.table(kind)
        let sql = includeHistory
            ? """
              SELECT \(columns) FROM (
                  SELECT \(columns) FROM \(table) WHERE entite_id = $1::uuid
                  UNION ALL
                  SELECT \(columns) FROM \(table)_history WHERE entite_id = $1::uuid
              ) AS versions ORDER BY id, valid_from
              """
            : "SELECT \(columns) FROM \(table) WHERE entite_id = $1::uuid ORDER BY id"
        return VersionStream(kind: kind, rows: try await connection.stream(sql, [entiteId]))
    }

    // MARK: Fixtures

    /// Replaces a dossier with the fixture's content, in one transaction: on any error nothing changes.
    public func load(_ fixture: DossierFixture) async throws(PostgresError) {
        try await connection.execute("BEGIN")
        do throws(PostgresError) {
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext($1))", [fixture.entiteId])
            for table in ["cae_situation_period"] + ObjectKind.allCases.flatMap({ [Self.table($0), Self.table($0) + "_history"] }) {
                try await connection.query("DELETE FROM \(table) WHERE entite_id = $1::uuid", [fixture.entiteId])
            }
            let periods = JSONValue.array(fixture.periods.map {
                ["id": .string($0.id), "reference_date": .number(String($0.referenceDate)), "libelle": $0.libelle.map(JSONValue.string) ?? .null]
            })
            try await connection.query("""
                INSERT INTO cae_situation_period (entite_id, id, reference_date, libelle)
                SELECT $1::uuid, id, reference_date, libelle FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, reference_date bigint, libelle text)
                """, [fixture.entiteId, periods.serialized()])
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
                            INSERT INTO \(table) (entite_id, \(columns))
                            SELECT $1::uuid, \(columns) FROM jsonb_to_recordset($2::jsonb) AS x(\(recordType))
                            """, [fixture.entiteId, records.serialized()])
                        start += batch.count
                    }
                }
            }
            try await connection.execute("COMMIT")
        } catch {
            try? await connection.execute("ROLLBACK")
            throw error
        }
    }
}

/// One kind's versions of a dossier, read in batches from a streaming query.
public struct VersionStream: Sendable {
    public let kind: ObjectKind
    let rows: PostgresRowStream

    /// The next versions, nil at the end. A row whose stored value does not fit the kind (e.g. lines that are not
    /// an array) throws a `ValidationError` naming the object.
    public func next(limit: Int = 500) async throws -> [ObjectVersion]? {
        guard let batch = try await rows.next(limit: limit) else { return nil }
        let specs = kind.fields
        return try batch.map { row in
            guard let id = row[0], let validFrom = row[1].flatMap({ Int64($0) }), let validTo = row[2].flatMap({ Int64($0) }) else {
                throw ValidationError(kind.rawValue, "a stored row has no id or validity")
            }
            var fields: [JSONValue] = []
            fields.reserveCapacity(specs.count)
            for (index, spec) in specs.enumerated() {
                do throws(ValidationError) {
                    fields.append(try spec.decode(column: row[3 + index]))
                } catch {
                    throw ValidationError("\(kind.rawValue) \(id) (validFrom \(validFrom))", error.description)
                }
            }
            return ObjectVersion(kind: kind, id: id, validFrom: validFrom, validTo: validTo, fields: fields)
        }
    }

    /// Cancels the query if it has not been read to the end.
    public func close() async { await rows.close() }
}
