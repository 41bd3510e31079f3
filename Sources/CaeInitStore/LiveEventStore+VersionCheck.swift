import CaeInitCore
import CaeInitPostgres

extension LiveEventStore {
    /// The stale-event guard's question (README, "Hand-off"): does the dossier database hold this version as ended,
    /// a row with its id and validFrom in the kind's history table? Asked on the dossier connection, which may be
    /// another database than the store's.
    public static func holdsEnded(_ version: ObjectVersion, entiteId: String, dossiers: PostgresConnection) async throws(PostgresError) -> Bool {
        let table = DossierStore.table(version.kind) + "_history"
        return try await dossiers.query("""
            SELECT EXISTS (SELECT 1 FROM \(unescaped: table)
                           WHERE entite_id = \(entiteId)::uuid AND id = \(version.id)::uuid AND valid_from = \(version.validFrom))
            """).decode(Bool.self).first ?? false
    }
}
