import CaeInitCore
import CaeInitPostgres
import CaeInitSinks
import CaeInitStore
import Logging
import Metrics

/// What a completed initialisation wrote.
public struct InitialisationResult: Sendable {
    public let counts: InitialisationCounts
    public let manifestName: String
    public let location: String
    public let startedAt: Int64
    public let finishedAt: Int64
}

/// Initialises one claimed key filter: validates the sink, reads the dossier in one `REPEATABLE READ` snapshot
/// streaming its rows, applies the history rules, the filters and the object naming, writes each document with a
/// bounded number of writes in flight, and writes the manifest last. It writes no status: the caller does,
/// conditionally on still holding the claim.
public struct Initialiser: Sendable {
    public let dossierConninfo: String
    public let sinkFactory: SinkFactory
    public let options: InitialiserOptions
    public let logger: Logger

    public init(dossierConninfo: String, sinkFactory: SinkFactory, options: InitialiserOptions = .init(), logger: Logger) {
        self.dossierConninfo = dossierConninfo
        self.sinkFactory = sinkFactory
        self.options = options
        self.logger = logger
    }

    /// - Parameters:
    ///   - progress: advanced as versions are dealt with; its total is set once the snapshot is open.
    ///   - claimStillHeld: asked right before the manifest is written; false stops the run.
    public func run(
        _ claim: Claim, progress: InitialisationProgress = InitialisationProgress(),
        claimStillHeld: @Sendable () async throws -> Bool
    ) async throws -> InitialisationResult {
        let startedAt = WallClock.epochMilliseconds()
        let configuration: SinkConfiguration
        do {
            configuration = try SinkConfiguration(json: claim.sink)
        } catch {
            throw InitialisationError(.permanent, "invalid sink configuration: \(error)")
        }
        // S3 and Azure: requests in flight adapt to the service's throttling, within `maxUploadsInFlight`.
        let inFlight = AdaptiveConcurrencyGate(maximum: max(1, options.maxUploadsInFlight), label: configuration.typeName, logger: logger)
        let sink = try sinkFactory.makeSink(for: configuration, inFlight: inFlight)
        defer { logInFlightLimit(inFlight, configuration: configuration, claim: claim) }
        do {
            let result = try await initialise(claim, configuration: configuration, sink: sink, startedAt: startedAt, progress: progress, claimStillHeld: claimStillHeld)
            try? await sink.shutdown()
            return result
        } catch {
            try? await sink.shutdown()
            throw error
        }
    }

    /// The run's lowest and final in-flight limit of a remote sink: did the service throttle it, and did it recover.
    private func logInFlightLimit(_ gate: AdaptiveConcurrencyGate, configuration: SinkConfiguration, claim: Claim) {
        if case .localDirectory = configuration.destination { return }
        let limit = gate.summary
        logger.info("requests in flight: lowest \(limit.lowest), final \(limit.current), maximum \(limit.maximum); \(limit.decreases) decreases, \(limit.increases) increases, \(limit.recoveries) returns to the maximum", metadata: [
            "key": "\(claim.key)", "sink": "\(configuration.location)",
        ])
    }

    private func initialise(
        _ claim: Claim, configuration: SinkConfiguration, sink: any Sink, startedAt: Int64, progress: InitialisationProgress,
        claimStillHeld: @Sendable () async throws -> Bool
    ) async throws -> InitialisationResult {
        let filter = DocumentFilter(claim.filters ?? JSONObject())
        let naming = ObjectNaming(folderProperty: configuration.folderName)
        try await sink.prepare()

        let connection = try await PostgresConnection.connect(dossierConninfo, applicationName: "cae-init \(claim.initializer) snapshot")
        defer { Task { await connection.close() } }
        let dossier = DossierStore(connection: connection)
        var pacer = WritePacer(perSecond: options.maxWritesPerSecond)
        var counts = InitialisationCounts()
        func writeKind(_ kind: ObjectKind, rules: HistoryRules, next: () async throws -> [ObjectVersion]?) async throws {
            try await write(kind: kind, next: next, claim: claim, rules: rules, filter: filter, naming: naming, sink: sink, counts: &counts, pacer: &pacer, progress: progress)
        }
        let periods: [SituationPeriod]
        if let spoolDirectory = options.spoolDirectory {
            periods = try await spoolThenWrite(claim, spoolDirectory: spoolDirectory, dossier: dossier, progress: progress, writeKind: writeKind)
        } else {
            periods = try await writeInSnapshot(claim, dossier: dossier, progress: progress, writeKind: writeKind)
        }

        // Every file durable before the manifest says they are there (this can take a while: before the claim check).
        try await sink.flush()
        guard try await claimStillHeld() else {
            throw InitialisationError(.claimLost, "the claim was lost before the manifest was written")
        }
        let finishedAt = WallClock.epochMilliseconds()
        let manifest = InitialisationManifest(
            subscriptionId: claim.subscriptionId, entiteId: claim.key, initializer: claim.initializer,
            startedAt: startedAt, finishedAt: finishedAt, initWithHistory: claim.initWithHistory,
            periods: periods, counts: counts
        )
        let manifestName = ObjectNaming.manifestName(subscriptionId: claim.subscriptionId, entiteId: claim.key)
        // The manifest durable, last, before the caller marks the filter `ready`.
        try await sink.put(manifestName, body: manifest.json.serializedBytes())
        try await sink.flush()
        return InitialisationResult(counts: counts, manifestName: manifestName, location: configuration.location, startedAt: startedAt, finishedAt: finishedAt)
    }

    /// Reads each kind and writes its documents as the rows come, all inside the snapshot transaction (which so
    /// lasts the writes). Returns the periods.
    private func writeInSnapshot(
        _ claim: Claim, dossier: DossierStore, progress: InitialisationProgress,
        writeKind: (ObjectKind, HistoryRules, () async throws -> [ObjectVersion]?) async throws -> Void
    ) async throws -> [SituationPeriod] {
        let started = ContinuousClock.now
        var rows = 0
        let periods = try await dossier.withSnapshot { () async throws -> [SituationPeriod] in
            let periods = claim.initWithHistory ? try await dossier.periods(entiteId: claim.key) : []
            let rules = HistoryRules(periods: periods)
            progress.setTotal(try await dossier.versionCount(entiteId: claim.key, includeHistory: claim.initWithHistory))
            let batchSize = options.readBatchSize
            for kind in ObjectKind.allCases {
                let stream = try await dossier.versions(kind, entiteId: claim.key, includeHistory: claim.initWithHistory)
                // Read-ahead: the next batch is read and decoded while the documents of this one are built.
                var nextBatch: Task<[ObjectVersion]?, any Error>? = Task { try await stream.next(limit: batchSize) }
                do {
                    try await writeKind(kind, rules) {
                        guard let reading = nextBatch else { return nil }
                        // The read-ahead is a task of its own: a cancelled run cancels it (its query gets PQcancel).
                        let batch = try await withTaskCancellationHandler { try await reading.value } onCancel: { reading.cancel() }
                        nextBatch = batch == nil ? nil : Task { try await stream.next(limit: batchSize) }
                        rows += batch?.count ?? 0
                        return batch
                    }
                } catch {
                    nextBatch?.cancel()
                    _ = try? await nextBatch?.value
                    await stream.close()
                    throw error
                }
            }
            return periods
        }
        logger.info("snapshot read and written: \(rows) rows in \(Self.seconds(since: started)) s (no spool: the snapshot lasts the writes)", metadata: ["key": "\(claim.key)"])
        return periods
    }

    /// Streams one kind: rows → chains → selected versions → documents → sink, handed over in the sink's batches
    /// (a request each for S3 and Azure, many files per writer thread for a directory) with a bounded number in
    /// flight, so memory stays bounded whatever the dossier's size.
    private func write(
        kind: ObjectKind, next: () async throws -> [ObjectVersion]?, claim: Claim, rules: HistoryRules, filter: DocumentFilter,
        naming: ObjectNaming, sink: any Sink, counts: inout InitialisationCounts, pacer: inout WritePacer,
        progress: InitialisationProgress
    ) async throws {
        let withHistory = claim.initWithHistory
        let batching = sink.batching
        // Paced writes go one by one, so that each starts on time.
        let objectsPerBatch = options.maxWritesPerSecond == nil ? max(1, batching.objectsPerBatch) : 1
        let limit = max(1, batching.batchesInFlight ?? options.maxUploadsInFlight)
        let filesWritten = Counter(label: "cae_init_files_written_total", dimensions: [("kind", kind.rawValue)])
        var localCounts = counts
        var localPacer = pacer
        defer { pacer = localPacer }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            var batch: [SinkObject] = []
            batch.reserveCapacity(objectsPerBatch)
            var grouper = VersionChainGrouper()
            // The same per-object step `cae-init render` runs: rules, documents, filters, names.
            let pipeline = DocumentPipeline(entiteId: claim.key, withHistory: withHistory, rules: rules, filter: filter, naming: naming)
            func handOver() async throws {
                if inFlight >= limit {
                    try await group.next()
                    inFlight -= 1
                }
                let objects = batch
                batch.removeAll(keepingCapacity: true)
                group.addTask {
                    try await sink.putBatch(objects)
                    filesWritten.increment(by: Int64(objects.count))
                    progress.advance(by: objects.count)
                }
                inFlight += 1
            }
            func emit(_ chain: [ObjectVersion]) async throws {
                // Versions not written (left out by the rules or the filters) count as done at once; written ones
                // when their write completes.
                var started = 0
                defer { progress.advance(by: chain.count - started) }
                for file in try pipeline.files(for: chain) {
                    try await localPacer.wait()
                    batch.append(SinkObject(name: file.name, body: file.body))
                    started += 1
                    localCounts.add(file.kind, file.role)
                    if batch.count >= objectsPerBatch { try await handOver() }
                }
            }
            while let versions = try await next() {
                for version in versions {
                    if let chain = grouper.add(version) { try await emit(chain) }
                }
            }
            if let chain = grouper.finish() { try await emit(chain) }
            if !batch.isEmpty { try await handOver() }
            try await group.waitForAll()
        }
        counts = localCounts
    }
}

extension Initialiser {
    /// Seconds since `start`, to the millisecond, for log lines.
    static func seconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        return "\(milliseconds / 1000).\(String(1000 + milliseconds % 1000).dropFirst())"
    }
}

/// Spaces write starts `1 / perSecond` apart.
struct WritePacer {
    let interval: Duration?
    var next = ContinuousClock.now

    init(perSecond: Double?) {
        interval = perSecond.flatMap { $0 > 0 ? .milliseconds(Int64((1000 / $0).rounded())) : nil }
    }

    mutating func wait() async throws {
        guard let interval else { return }
        let now = ContinuousClock.now
        if next > now { try await Task.sleep(until: next, clock: .continuous) }
        next = max(next, now) + interval
    }
}
