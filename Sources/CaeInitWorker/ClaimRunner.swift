import CaeInitCore
import CaeInitPostgres
import CaeInitStore
import Logging
import Metrics

/// Runs one claimed filter to its outcome: the initialisation under a lease renewed by heartbeats, then the
/// outcome recorded conditionally on the claim (ready, failed, retry later, released at shutdown, or nothing when
/// the claim was lost).
struct ClaimRunner: Sendable {
    let storeConninfo: String
    let initialiser: Initialiser
    let options: WorkerOptions
    let recorder: OutcomeRecorder
    let logger: Logger
    let onOutcome: OutcomeHandler
    /// Told the progress of each running initialisation about once a second (`run-once`'s progress line).
    var onProgress: ProgressHandler?

    func run(_ claim: Claim) async {
        var logger = self.logger
        logger[metadataKey: "subscription"] = "\(claim.subscriptionId)"
        logger[metadataKey: "filter"] = "\(claim.key)"
        logger[metadataKey: "attempt"] = "\(claim.attempt)"
        let keeper = ClaimKeeper(claim: claim, conninfo: storeConninfo, lease: options.lease)
        defer { Task { await keeper.close() } }
        let claimedAt = ContinuousClock.now
        Counter(label: "cae_init_filters_claimed_total").increment()

        let outcome: Result<InitialisationResult, InitialisationError>
        if claim.attempt > options.maxAttempts {
            outcome = .failure(InitialisationError(.permanent, "gave up after \(options.maxAttempts) attempts: the workers running it stopped without finishing (killed or lost)"))
        } else if let problem = claim.problem {
            outcome = .failure(InitialisationError(.permanent, "invalid stored subscription: \(problem)"))
        } else {
            logger.info("claimed")
            do {
                outcome = .success(try await runUnderLease(claim, keeper: keeper, logger: logger))
            } catch {
                var failure = InitialisationError.classify(error)
                if Task.isCancelled && failure.disposition != .claimLost { failure = InitialisationError(.cancelled, "shutdown") }
                outcome = .failure(failure)
            }
        }
        let elapsed = ContinuousClock.now - claimedAt
        Timer(label: "cae_init_initialisation_seconds").recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        await record(outcome, of: claim, keeper: keeper, elapsed: elapsed, logger: logger)
    }

    /// Runs the initialisation while a heartbeat renews the lease every third of it. If the claim is taken away or
    /// the lease cannot be renewed before it runs out, the initialisation is cancelled: no other worker may hold the
    /// filter while this one still writes.
    private func runUnderLease(_ claim: Claim, keeper: ClaimKeeper, logger: Logger) async throws -> InitialisationResult {
        let lease = options.lease
        let margin = lease / 10
        let progress = InitialisationProgress()
        return try await withThrowingTaskGroup(of: InitialisationResult?.self) { group in
            group.addTask {
                try await initialiser.run(claim, progress: progress) { try await keeper.heartbeat() }
            }
            if let onProgress {
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(1))
                        if let estimate = progress.estimate() {
                            onProgress(FilterProgress(subscriptionId: claim.subscriptionId, key: claim.key, estimate: estimate))
                        }
                    }
                }
            }
            group.addTask {
                var deadline = ContinuousClock.now + lease
                var wait = lease / 3
                while true {
                    try await Task.sleep(for: wait)
                    let sentAt = ContinuousClock.now
                    let held: Bool
                    do throws(PostgresError) {
                        held = try await keeper.heartbeat(report: progress.report(attempt: claim.attempt))
                    } catch {
                        if error.code == .cancelled { throw CancellationError() }
                        if ContinuousClock.now + margin >= deadline {
                            throw InitialisationError(.claimLost, "the lease could not be renewed in time: \(error)")
                        }
                        logger.warning("heartbeat failed, retrying", metadata: ["error": "\(error)"])
                        wait = min(.seconds(1), max(.milliseconds(50), (deadline - ContinuousClock.now - margin) / 2))
                        continue
                    }
                    guard held else {
                        throw InitialisationError(.claimLost, "the claim was taken away (filter reset or removed, or its lease expired)")
                    }
                    deadline = sentAt + lease
                    wait = lease / 3
                }
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }

    private func record(_ outcome: Result<InitialisationResult, InitialisationError>, of claim: Claim, keeper: ClaimKeeper, elapsed: Duration, logger: Logger) async {
        let leaseDeadline = ContinuousClock.now + options.lease
        func write(_ body: @escaping @Sendable (SubscriptionStore) async throws(PostgresError) -> Bool) async -> Bool? {
            await recorder.record(keeper, leaseDeadline: leaseDeadline, logger: logger, body)
        }
        let report: @Sendable (String, InitialisationCounts?) -> JSONValue = { status, counts in Self.report(status: status, counts: counts, attempt: claim.attempt) }
        // Whatever a sink or a server said, no configured secret leaves the process in a message or a log line.
        let scrubber = SecretScrubber(Self.secrets(of: claim.sink))
        let outcome = outcome.mapError { InitialisationError($0.disposition, scrubber.scrub($0.message)) }
        switch outcome {
        case .success(let result):
            let written = await write { store throws(PostgresError) in try await store.markReady(claim, report: report("processed", result.counts)) }
            finish(claim, .ready, "\(result.counts.summary) → \(result.location)", result, written: written, elapsed: elapsed, logger: logger)
        case .failure(let failure):
            let message = failure.message
            switch failure.disposition {
            case .permanent:
                let written = await write { store throws(PostgresError) in try await store.markFailed(claim, message: message, report: report("failed", nil)) }
                finish(claim, .failed, message, nil, written: written, elapsed: elapsed, logger: logger)
            case .transient where claim.attempt >= options.maxAttempts:
                let final = "failed after \(claim.attempt) attempts: \(message)"
                let written = await write { store throws(PostgresError) in try await store.markFailed(claim, message: final, report: report("failed", nil)) }
                finish(claim, .failed, final, nil, written: written, elapsed: elapsed, logger: logger)
            case .transient:
                let delay = options.retryDelay(afterAttempt: claim.attempt)
                let retry = "attempt \(claim.attempt) of \(options.maxAttempts) failed, retrying in \(delay): \(message)"
                let written = await write { store throws(PostgresError) in try await store.scheduleRetry(claim, after: delay, message: retry) }
                Counter(label: "cae_init_filters_retried_total").increment()
                finish(claim, .retrying, retry, nil, written: written, elapsed: elapsed, logger: logger)
            case .cancelled:
                let written = await write { store throws(PostgresError) in try await store.release(claim) }
                finish(claim, .released, "released at shutdown, back to new", nil, written: written, elapsed: elapsed, logger: logger)
            case .claimLost:
                finish(claim, .discarded, "outcome discarded: \(message)", nil, written: false, elapsed: elapsed, logger: logger)
            }
        }
    }

    private func finish(_ claim: Claim, _ status: FilterOutcome.Status, _ detail: String, _ result: InitialisationResult?, written: Bool?, elapsed: Duration, logger: Logger) {
        var metadata: Logger.Metadata = ["outcome": "\(status.rawValue)", "seconds": "\(elapsed.seconds)"]
        if let result { metadata["counts"] = "\(result.counts.summary)"; metadata["files"] = "\(result.counts.total)" }
        var status = status
        if written == false && status != .discarded {
            status = .discarded
            logger.warning("claim no longer held: outcome discarded", metadata: metadata.merging(["reason": "\(detail)"]) { $1 })
        } else {
            switch status {
            case .ready:
                Counter(label: "cae_init_filters_ready_total").increment()
                logger.info("ready", metadata: metadata)
            case .failed:
                Counter(label: "cae_init_filters_failed_total").increment()
                logger.error("failed", metadata: metadata.merging(["reason": "\(detail)"]) { $1 })
            case .retrying, .released, .discarded:
                logger.warning("\(status.rawValue)", metadata: metadata.merging(["reason": "\(detail)"]) { $1 })
            }
        }
        onOutcome(FilterOutcome(subscriptionId: claim.subscriptionId, key: claim.key, attempt: claim.attempt, status: status, detail: detail, result: result))
    }

    /// The secret credentials of a stored sink, read even when the sink does not validate.
    static func secrets(of sink: JSONValue) -> [Secret] {
        guard let credentials = sink.objectValue?["credentials"]?.objectValue else { return [] }
        return SinkConfiguration.secretFields.sorted().compactMap { credentials[$0]?.stringValue.map(Secret.init) }
    }

    static func report(status: String, counts: InitialisationCounts?, attempt: Int) -> JSONValue {
        var report = JSONObject()
        report.appendUnchecked("processedDate", .string(Timestamp.iso8601(milliseconds: WallClock.epochMilliseconds())))
        report.appendUnchecked("status", .string(status))
        report.appendUnchecked("locked", .bool(false))
        report.appendUnchecked("attempt", .number(String(attempt)))
        if let counts {
            report.appendUnchecked("counts", counts.json)
            report.appendUnchecked("objects", .number(String(counts.total)))
        }
        return .object(report)
    }
}
