import CaeInitCore
import CaeInitPostgres

/// One kind's versions of a dossier, read in batches from a streaming query.
public struct VersionStream: Sendable {
    public let kind: ObjectKind
    let rows: PostgresRowStream

    /// The next versions, nil at the end. A row whose stored value does not fit the kind (e.g. lines that are not
    /// an array) throws a `FieldError` naming the object.
    public func next(limit: Int = 500) async throws -> [ObjectVersion]? {
        guard let batch = try await rows.next(limit: limit) else { return nil }
        return try batch.rows.map { try Self.version(kind, row: $0) }
    }

    /// The next rows as PostgreSQL sent them (text, in the order of `version(_:row:)`), nil at the end: what a
    /// spool keeps, so that the snapshot lasts no longer than reading them.
    public func nextRows(limit: Int = 500) async throws -> [[String?]]? {
        try await rows.next(limit: limit)?.rows
    }

    /// The columns of a row of `kind`: id, valid_from, valid_to, then the kind's fields.
    public static func columns(of kind: ObjectKind) -> [String] {
        ["id", "valid_from", "valid_to"] + kind.fields.map(\.column)
    }

    /// A row of `kind` (text values, in the order of `columns(of:)`) as a version.
    public static func version(_ kind: ObjectKind, row values: [String?]) throws -> ObjectVersion {
        let row = PostgresRow(columns: columns(of: kind), values: values)
        let (id, validFrom, validTo) = try row.decode(String.self, Int64.self, Int64.self)
        let specs = kind.fields
        var fields: [JSONValue] = []
        fields.reserveCapacity(specs.count)
        for (index, spec) in specs.enumerated() {
            do throws(FieldError) {
                fields.append(try spec.decode(column: values[3 + index]))
            } catch {
                throw FieldError("\(kind.rawValue) \(id) (validFrom \(validFrom))", error.description)
            }
        }
        return ObjectVersion(kind: kind, id: id, validFrom: validFrom, validTo: validTo, fields: fields)
    }

    /// Cancels the query if it has not been read to the end.
    public func close() async { await rows.close() }
}
