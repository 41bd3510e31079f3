import CaeInitStore
import Logging
import ServiceLifecycle

/// The worker (`cae-init worker`, and `run-once` with `exitWhenIdle`), shaped like swift-jobs'
/// `JobQueueProcessor`: claims come from a `ClaimSource`; up to `concurrency` run at once (`group.next()` before the
/// next claim); on graceful shutdown the source stops, running initialisations get the grace period to finish, and a
/// sibling task then cancels them, which releases their claims back to `new` untouched.
public final class WorkerService: Service, Sendable {
    let claims: ClaimSource
    let runner: ClaimRunner
    let options: WorkerOptions
    let logger: Logger
    let shutdown = ShutdownDeadline()

    public init(
        storeConninfo: String, sealer: SinkSealer = .plaintext, initialiser: Initialiser, options: WorkerOptions, logger: Logger,
        onOutcome: @escaping OutcomeHandler = { _ in }, onProgress: ProgressHandler? = nil
    ) {
        var logger = logger
        logger[metadataKey: "worker"] = "\(options.name)"
        self.logger = logger
        self.options = options
        self.claims = ClaimSource(storeConninfo: storeConninfo, sealer: sealer, options: options, logger: logger)
        self.runner = ClaimRunner(
            storeConninfo: storeConninfo, initialiser: initialiser, options: options,
            recorder: OutcomeRecorder(shutdown: shutdown), logger: logger, onOutcome: onOutcome, onProgress: onProgress
        )
    }

    public func run() async throws {
        logger.info("worker started", metadata: [
            "concurrency": "\(options.concurrency)", "lease": "\(options.lease)", "mode": "\(options.exitWhenIdle ? "run-once" : "worker")",
        ])
        if let spoolDirectory = options.initialiser.spoolDirectory {
            let removed = Spool.sweep(spoolDirectory)
            if removed > 0 { logger.info("removed \(removed) spool files of dead workers", metadata: ["spoolDir": "\(spoolDirectory)"]) }
        }
        let (shutdownStarted, startShutdown) = AsyncStream.makeStream(of: Void.self)
        await withTaskCancellationOrGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.processClaims() }
                group.addTask {
                    // Waits for graceful shutdown (or cancellation), then gives running initialisations the grace period.
                    await shutdownStarted.first { _ in true }
                    guard !Task.isCancelled else { return }
                    try? await Task.sleep(for: self.options.gracefulShutdownTimeout)
                    guard !Task.isCancelled else { return }
                    self.logger.warning("grace period over: cancelling and releasing running initialisations")
                }
                // The first to end decides: the claims all processed (run-once, or shutdown within the grace period),
                // or the grace period over (the processing is cancelled).
                await group.next()
                group.cancelAll()
            }
        } onCancelOrGracefulShutdown: {
            self.logger.info("shutting down: no new claims", metadata: ["grace": "\(self.options.gracefulShutdownTimeout)"])
            self.shutdown.begin(gracePeriod: self.options.gracefulShutdownTimeout)
            self.claims.stop()
            startShutdown.finish()
        }
        logger.info("worker stopped")
    }

    private func processClaims() async {
        await withTaskGroup(of: Void.self) { group in
            var iterator = claims.makeAsyncIterator()
            for _ in 0..<options.concurrency {
                guard let claim = await iterator.next() else {
                    await group.waitForAll()
                    return
                }
                group.addTask { await self.run(claim) }
            }
            while true {
                await group.next()
                guard let claim = await iterator.next() else { break }
                group.addTask { await self.run(claim) }
            }
            await group.waitForAll()
        }
    }

    private func run(_ claim: Claim) async {
        await runner.run(claim)
        claims.runFinished()
    }
}
