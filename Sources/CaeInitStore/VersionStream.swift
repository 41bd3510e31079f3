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
        let specs = kind.fields
        return try batch.typed.map { row in
            let (id, validFrom, validTo) = try row.decode(String.self, Int64.self, Int64.self)
            var fields: [JSONValue] = []
            fields.reserveCapacity(specs.count)
            for (index, spec) in specs.enumerated() {
                do throws(FieldError) {
                    fields.append(try spec.decode(column: row.values[3 + index]))
                } catch {
                    throw FieldError("\(kind.rawValue) \(id) (validFrom \(validFrom))", error.description)
                }
            }
            return ObjectVersion(kind: kind, id: id, validFrom: validFrom, validTo: validTo, fields: fields)
        }
    }

    /// Cancels the query if it has not been read to the end.
    public func close() async { await rows.close() }
}
