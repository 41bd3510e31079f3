import CaeInitCore
import CaeInitStore

extension Initialiser {
    /// `--spool-dir`: the rows go to a local spool inside the snapshot transaction, which then commits and whose
    /// connection closes (no transaction, no `backend_xmin` left while the writes run), then each kind's documents
    /// are built and written from the spool. The spool is removed at the end, whatever the outcome. Returns the
    /// periods.
    func spoolThenWrite(
        _ claim: Claim, spoolDirectory: String, dossier: DossierStore, progress: InitialisationProgress,
        writeKind: (ObjectKind, HistoryRules, () async throws -> [ObjectVersion]?) async throws -> Void
    ) async throws -> [SituationPeriod] {
        let spool = try Spool.create(in: spoolDirectory)
        defer { spool.remove() }
        let started = ContinuousClock.now
        let periods = try await dossier.withSnapshot { () async throws -> [SituationPeriod] in
            let periods = claim.initWithHistory ? try await dossier.periods(entiteId: claim.key) : []
            progress.setTotal(try await dossier.versionCount(entiteId: claim.key, includeHistory: claim.initWithHistory))
            for kind in ObjectKind.allCases {
                let stream = try await dossier.versions(kind, entiteId: claim.key, includeHistory: claim.initWithHistory)
                do {
                    while let rows = try await stream.nextRows(limit: options.readBatchSize) { try spool.append(rows, of: kind) }
                } catch {
                    await stream.close()
                    throw error
                }
            }
            return periods
        }
        await dossier.connection.close()
        try spool.finishWriting()
        logger.info("snapshot read: \(spool.counts.values.reduce(0, +)) rows in \(Self.seconds(since: started)) s (spooled, \(spool.bytesWritten) bytes)", metadata: ["key": "\(claim.key)"])

        let rules = HistoryRules(periods: periods)
        for kind in ObjectKind.allCases {
            var remaining = spool.counts[kind] ?? 0
            try await writeKind(kind, rules) {
                guard remaining > 0, let batch = try spool.versions(kind, limit: min(options.readBatchSize, remaining)) else { return nil }
                remaining -= batch.count
                return batch
            }
        }
        return periods
    }
}
