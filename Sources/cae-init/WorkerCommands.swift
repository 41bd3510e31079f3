import ArgumentParser
import CaeInitApp
import CaeInitCore
import CaeInitStore
import CaeInitWorker
import Foundation
import Logging
import Metrics
import Prometheus
import Synchronization

/// Builds the app for `worker` and `run-once` through the composition root, then runs it.
func runWorker(
    database: DatabaseOptions, arguments: WorkerArguments, exitWhenIdle: Bool, metrics: (host: String, port: Int)?,
    onOutcome: @escaping OutcomeHandler, onProgress: ProgressHandler? = nil
) async throws {
    let (logger, registry) = try database.bootstrapService()
    let configuration = AppConfiguration(
        storeConninfo: try database.storeConninfo(),
        dossierConninfo: try database.dossierConninfo(),
        worker: try arguments.workerOptions(exitWhenIdle: exitWhenIdle),
        metrics: metrics,
        sinkAuditLogPath: arguments.sinkAuditLog,
        sealer: try database.sealer()
    )
    // Fail fast, with the conninfo (no password), when a database cannot be reached at start.
    try await database.connectStore().close()
    try await database.connectDossiers().close()
    try await buildApp(configuration, registry: registry, logger: logger, onOutcome: onOutcome, onProgress: onProgress).run()
}

struct RunOnce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-once",
        abstract: "Claims and initialises every new filter of active subscriptions, then exits: 0 when all succeeded, 1 when any failed."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var arguments: WorkerArguments
    @Option(name: .customLong("progress-every"), help: "When stdout is not a terminal, seconds between plain progress lines of a dossier (0: none). On a terminal, each running dossier's line is redrawn every second.")
    var progressEvery: Double = 10

    func validate() throws {
        guard progressEvery.isFinite, progressEvery >= 0 else { throw ArgumentParser.ValidationError("--progress-every must be a number of seconds, 0 or more") }
    }

    func run() async throws {
        let outcomes = Mutex<[FilterOutcome]>([])
        let progressLine = ProgressLine(plainInterval: progressEvery)
        try await reportingErrors {
            try await runWorker(
                database: database, arguments: arguments, exitWhenIdle: true, metrics: nil,
                onOutcome: { outcome in
                    outcomes.withLock { $0.append(outcome) }
                    progressLine.finish(subscriptionId: outcome.subscriptionId, key: outcome.key, line: Self.line(outcome))
                },
                onProgress: { progressLine.show($0) }
            )
        }
        let all = outcomes.withLock { $0 }
        let final = Dictionary(all.map { ("\($0.subscriptionId)/\($0.key)", $0) }, uniquingKeysWith: { $1 })
        let ready = final.values.filter { $0.status == .ready }.count
        let failed = final.values.filter { $0.status == .failed }
        print("run-once: \(ready) ready, \(failed.count) failed" + (final.count - ready - failed.count > 0 ? ", \(final.count - ready - failed.count) other" : ""))
        for outcome in failed.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(Data("failed \(outcome.subscriptionId)/\(outcome.key): \(outcome.detail)\n".utf8))
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }

    static func line(_ outcome: FilterOutcome) -> String {
        let status = outcome.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
        return "\(status) \(outcome.subscriptionId)/\(outcome.key) (attempt \(outcome.attempt)): \(outcome.detail)"
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Runs the polling worker until SIGTERM/SIGINT.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var arguments: WorkerArguments
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics at http://<metrics-host>:<port>/metrics.") var metricsPort: Int?
    @Option(name: .customLong("metrics-host"), help: "Address the metrics endpoint binds to.") var metricsHost: String = "0.0.0.0"

    func validate() throws {
        if let metricsPort, !(1...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be between 1 and 65535") }
    }

    func run() async throws {
        try await reportingErrors {
            try await runWorker(database: database, arguments: arguments, exitWhenIdle: false, metrics: metricsPort.map { (metricsHost, $0) }) { _ in }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Prints the key filters by status, with the pending ones' workers and lease expiry.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let report = try await database.subscriptionStore(warnIfNoKey: false).statusReport()
            for status in KeyFilterStatus.allCases {
                print("\(status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(report.counts[status] ?? 0)")
            }
            if report.waiting > 0 { print("(\(report.waiting) new filter(s) waiting for a retry backoff or a suspended subscription)") }
            for pending in report.pending {
                var line = "pending  \(pending.subscriptionId)/\(pending.key) by \(pending.initializer ?? "?") attempt \(pending.attempt), lease until \(pending.leaseExpiresAt)\(pending.leaseExpired ? " (expired: will be claimed again)" : "")"
                if let progress = pending.progress, let takenAt = pending.progressUpdatedAt {
                    line += "; progress \(progress.summary) as of \(Timestamp.iso8601(milliseconds: takenAt))"
                    if let end = progress.estimatedEnd(takenAt: takenAt) { line += ", estimated end \(Timestamp.iso8601(milliseconds: end))" }
                }
                print(line)
            }
            for failed in report.failed {
                print("failed   \(failed.subscriptionId)/\(failed.key): \(failed.message ?? "")")
            }
        }
    }
}
