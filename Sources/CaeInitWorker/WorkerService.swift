import CaeInitCore
import CaeInitPostgres
import CaeInitSinks
import CaeInitStore
import Logging
import Metrics
import ServiceLifecycle

/// The polling worker (`cae-init worker`, and `run-once` with `exitWhenIdle`): claims `new` filters, runs up to
/// `concurrency` initialisations at once, each under a lease renewed by heartbeats, and shuts down gracefully:
/// no new claims, running ones finish within the grace period or go back to `new` untouched.
public final class WorkerService: Service, Sendable {
    let storeConninfo: String
    let initialiser: Initialiser
    let options: WorkerOptions
    let logger: Logger
    let onOutcome: OutcomeHandler
    private let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation

    enum Event: Sendable {
        case wake, tick, runFinished, shutdown, graceOver
    }

    public init(storeConninfo: String, initialiser: Initialiser, options: WorkerOptions, logger: Logger, onOutcome: @escaping OutcomeHandler = { _ in }) {
        self.storeConninfo = storeConninfo
        self.initialiser = initialiser
        self.options = options
        var logger = logger
        logger[metadataKey: "worker"] = "\(options.name)"
        self.logger = logger
        self.onOutcome = onOutcome
        (events, eventSink) = AsyncStream.makeStream(of: Event.self)
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            await runLoop()
        } onGracefulShutdown: { [eventSink] in
            eventSink.yield(.shutdown)
        }
    }

    private func runLoop() async {
        logger.info("worker started", metadata: [
            "concurrency": "\(options.concurrency)", "lease_seconds": "\(options.leaseSeconds)", "mode": "\(options.exitWhenIdle ? "run-once" : "worker")",
        ])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listenForNewFilters() }
            group.addTask { await self.tick() }
            var claimer: SubscriptionStore?
            var active = 0
            var shuttingDown = false
            var claimFailures = 0
            var iterator = events.makeAsyncIterator()
            loop: while true {
                if !shuttingDown {
                    while active < options.concurrency {
                        let claim: Claim?
                        do throws(PostgresError) {
                            if claimer == nil { claimer = SubscriptionStore(connection: try await PostgresConnection.connect(storeConninfo, applicationName: "cae-init \(options.name)")) }
                            claim = try await claimer!.claim(initializer: options.name, leaseSeconds: options.leaseSeconds)
                            if claimFailures > 0 { logger.info("subscription store reachable again") }
                            claimFailures = 0
                        } catch {
                            if claimFailures == 0 || claimFailures % 30 == 0 {
                                logger.error("cannot claim filters, will retry", metadata: ["error": "\(error)"])
                            }
                            claimFailures += 1
                            claimer = nil
                            break
                        }
                        guard let claim else { break }
                        active += 1
                        group.addTask {
                            await self.process(claim)
                            self.eventSink.yield(.runFinished)
                        }
                    }
                    if options.exitWhenIdle, active == 0, claimFailures == 0, let store = claimer {
                        do throws(PostgresError) {
                            // Filters waiting out a backoff still count: run-once retries them before exiting.
                            if try await store.secondsUntilNextClaimable() == nil { break loop }
                        } catch {
                            claimer = nil
                        }
                    }
                }
                if shuttingDown && active == 0 { break }
                guard let event = await iterator.next() else { break }
                switch event {
                case .runFinished:
                    active -= 1
                case .shutdown where !shuttingDown:
                    shuttingDown = true
                    logger.info("shutting down: no new claims", metadata: ["running": "\(active)", "grace_seconds": "\(options.graceSeconds)"])
                    let grace = options.graceSeconds
                    group.addTask {
                        try? await Task.sleep(for: .milliseconds(Int64(grace * 1000)))
                        self.eventSink.yield(.graceOver)
                    }
                case .graceOver:
                    if active > 0 {
                        logger.warning("grace period over: releasing running initialisations", metadata: ["running": "\(active)"])
                    }
                    group.cancelAll()
                case .wake, .tick, .shutdown:
                    continue
                }
            }
            group.cancelAll()
        }
        eventSink.finish()
        logger.info("worker stopped")
    }

    /// Wakes the claim loop on every `NOTIFY cae_key_filter_new`, so a new filter starts within a second;
    /// reconnects after a database fault.
    private func listenForNewFilters() async {
        var failures = 0
        while !Task.isCancelled {
            do throws(PostgresError) {
                let connection = try await PostgresConnection.connect(storeConninfo, applicationName: "cae-init \(options.name) listener")
                try await connection.execute("LISTEN cae_key_filter_new")
                failures = 0
                eventSink.yield(.wake)
                while !Task.isCancelled {
                    if !(try await connection.notifications(waitingUpTo: .milliseconds(500))).isEmpty {
                        eventSink.yield(.wake)
                    }
                }
            } catch {
                if failures == 0 { logger.warning("notification listener lost its connection, reconnecting", metadata: ["error": "\(error)"]) }
                failures += 1
                try? await Task.sleep(for: .milliseconds(min(500 * failures, 5000)))
            }
        }
    }

    private func tick() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: options.pollInterval)
            eventSink.yield(.tick)
        }
    }

    // MARK: One filter

    private func process(_ claim: Claim) async {
        var logger = self.logger
        logger[metadataKey: "subscription"] = "\(claim.subscriptionId)"
        logger[metadataKey: "filter"] = "\(claim.key)"
        logger[metadataKey: "attempt"] = "\(claim.attempt)"
        let lease = Duration.milliseconds(Int64(options.leaseSeconds * 1000))
        let keeper = ClaimKeeper(claim: claim, conninfo: storeConninfo, leaseSeconds: options.leaseSeconds, logger: logger)
        let claimedAt = ContinuousClock.now
        Counter(label: "cae_init_filters_claimed_total").increment()

        if claim.attempt > options.maxAttempts {
            let message = "gave up after \(options.maxAttempts) attempts: the workers running it stopped without finishing (killed or lost)"
            let written = await keeper.record(until: claimedAt + lease) { store throws(PostgresError) in
                try await store.markFailed(claim, message: message, report: Self.report(status: "failed", counts: nil, attempt: claim.attempt))
            }
            finish(claim, .failed, message, nil, written: written, logger: logger)
            return
        }
        logger.info("claimed")

        let outcome: Result<InitialisationResult, InitialisationError>
        do {
            outcome = .success(try await runUnderLease(claim, keeper: keeper, lease: lease, logger: logger))
        } catch {
            var failure = InitialisationError.classify(error)
            if Task.isCancelled && failure.disposition != .claimLost { failure = InitialisationError(.cancelled, "shutdown") }
            outcome = .failure(failure)
        }
        let elapsed = ContinuousClock.now - claimedAt
        Timer(label: "cae_init_initialisation_seconds").recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        let deadline = ContinuousClock.now + lease

        switch outcome {
        case .success(let result):
            let report = Self.report(status: "processed", counts: result.counts, attempt: claim.attempt)
            let written = await keeper.record(until: deadline) { store throws(PostgresError) in try await store.markReady(claim, report: report) }
            finish(claim, .ready, "\(result.counts.summary) → \(result.location)", result, written: written, logger: logger, elapsed: elapsed)
        case .failure(let failure):
            switch failure.disposition {
            case .permanent:
                let report = Self.report(status: "failed", counts: nil, attempt: claim.attempt)
                let written = await keeper.record(until: deadline) { store throws(PostgresError) in try await store.markFailed(claim, message: failure.message, report: report) }
                finish(claim, .failed, failure.message, nil, written: written, logger: logger, elapsed: elapsed)
            case .transient where claim.attempt >= options.maxAttempts:
                let message = "failed after \(claim.attempt) attempts: \(failure.message)"
                let report = Self.report(status: "failed", counts: nil, attempt: claim.attempt)
                let written = await keeper.record(until: deadline) { store throws(PostgresError) in try await store.markFailed(claim, message: message, report: report) }
                finish(claim, .failed, message, nil, written: written, logger: logger, elapsed: elapsed)
            case .transient:
                let delay = options.retryDelay(afterAttempt: claim.attempt)
                let message = "attempt \(claim.attempt) of \(options.maxAttempts) failed, retrying in \(delay): \(failure.message)"
                let written = await keeper.record(until: deadline) { store throws(PostgresError) in try await store.scheduleRetry(claim, after: delay, message: message) }
                Counter(label: "cae_init_filters_retried_total").increment()
                finish(claim, .retrying, message, nil, written: written, logger: logger, elapsed: elapsed)
            case .cancelled:
                let written = await keeper.record(until: deadline) { store throws(PostgresError) in try await store.release(claim) }
                finish(claim, .released, "released at shutdown, back to new", nil, written: written, logger: logger, elapsed: elapsed)
            case .claimLost:
                finish(claim, .discarded, "outcome discarded: \(failure.message)", nil, written: false, logger: logger, elapsed: elapsed)
            }
        }
    }

    /// Runs the initialisation while a heartbeat renews the lease every third of it. If the claim is taken away
    /// or the lease cannot be renewed before it runs out, the initialisation is cancelled: no other worker may
    /// hold the filter while this one still writes.
    private func runUnderLease(_ claim: Claim, keeper: ClaimKeeper, lease: Duration, logger: Logger) async throws -> InitialisationResult {
        let margin = lease / 10
        return try await withThrowingTaskGroup(of: InitialisationResult?.self) { group in
            group.addTask {
                try await self.initialiser.run(claim) {
                    try await keeper.heartbeat()
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
                        held = try await keeper.heartbeat()
                    } catch {
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

    private func finish(_ claim: Claim, _ status: FilterOutcome.Status, _ detail: String, _ result: InitialisationResult?, written: Bool?, logger: Logger, elapsed: Duration? = nil) {
        var metadata: Logger.Metadata = ["outcome": "\(status.rawValue)"]
        if let elapsed { metadata["seconds"] = "\(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)" }
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

    static func report(status: String, counts: InitialisationCounts?, attempt: Int) -> JSONValue {
        var report = JSONObject()
        report.appendUnchecked("processedDate", .string(Timestamp.iso8601(milliseconds: Clock.epochMilliseconds())))
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
