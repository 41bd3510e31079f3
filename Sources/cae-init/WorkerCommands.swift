import ArgumentParser
import AsyncHTTPClient
import CaeInitCore
import CaeInitSinks
import CaeInitStore
import CaeInitWorker
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization

/// The options `worker` and `run-once` share.
struct WorkerArguments: ParsableArguments {
    @Option(help: "Initialisations run at once.") var concurrency: Int = 2
    @Option(name: .customLong("poll-interval-ms"), help: "Longest wait between looks for new filters (a NOTIFY wakes the worker sooner).") var pollIntervalMs: Int = 2000
    @Option(name: .customLong("lease-seconds"), help: "How long a claim lasts without a heartbeat (heartbeat every third).") var leaseSeconds: Double = 60
    @Option(name: .customLong("grace-seconds"), help: "On SIGTERM/SIGINT, time for running initialisations to finish before they are released back to new.") var graceSeconds: Double = 30
    @Option(name: .customLong("max-attempts"), help: "Runs per filter before it is marked failed (transient failures, killed workers).") var maxAttempts: Int = 5
    @Option(name: .customLong("retry-delay-ms"), help: "Wait before retrying after a transient failure, doubled at each attempt (at most 5 minutes).") var retryDelayMs: Int = 5000
    @Option(name: .customLong("max-uploads-in-flight"), help: "Sink writes in flight at once per initialisation.") var maxUploadsInFlight: Int = 32
    @Option(name: .customLong("max-writes-per-second"), help: "Sink writes started per second at most, per initialisation (spares a throttling sink; default: no limit).") var maxWritesPerSecond: Double?
    @Option(help: "Worker name written as each filter's initializer (default: host name and a random suffix).") var name: String?
    @Option(name: .customLong("sink-audit-log"), help: "Append one line per file a Local Directory sink writes (time, pid, object) to this file.") var sinkAuditLog: String?

    func workerOptions(exitWhenIdle: Bool) throws -> WorkerOptions {
        guard concurrency >= 1 else { throw CLIError("--concurrency must be at least 1") }
        guard leaseSeconds >= 1 else { throw CLIError("--lease-seconds must be at least 1") }
        guard maxAttempts >= 1 else { throw CLIError("--max-attempts must be at least 1") }
        guard maxUploadsInFlight >= 1 else { throw CLIError("--max-uploads-in-flight must be at least 1") }
        var options = WorkerOptions()
        if let name { options.name = name }
        options.concurrency = concurrency
        options.pollInterval = .milliseconds(max(50, pollIntervalMs))
        options.leaseSeconds = leaseSeconds
        options.graceSeconds = max(0, graceSeconds)
        options.maxAttempts = maxAttempts
        options.retryBaseDelay = .milliseconds(max(0, retryDelayMs))
        options.exitWhenIdle = exitWhenIdle
        options.initialiser = InitialiserOptions(maxUploadsInFlight: maxUploadsInFlight, maxWritesPerSecond: maxWritesPerSecond)
        return options
    }
}

/// Runs a worker service under a ServiceGroup (SIGTERM/SIGINT → graceful shutdown), with optional metrics.
/// `additionalServices` run in the same group (`serve --worker` adds the API), sharing the metrics registry.
func runWorker(database: DatabaseOptions, arguments: WorkerArguments, exitWhenIdle: Bool, metricsHost: String, metricsPort: Int?,
               additionalServices: (PrometheusCollectorRegistry, Logger) -> [any Service] = { _, _ in [] },
               onOutcome: @escaping OutcomeHandler) async throws {
    database.bootstrapLogging()
    let logger = Logger(label: "cae-init")
    let options = try arguments.workerOptions(exitWhenIdle: exitWhenIdle)
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    let storeConninfo = try database.storeConninfo()
    // Fail fast, with the conninfo (no password), when the store cannot be reached at start.
    _ = try await database.connectStore()
    var httpConfiguration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(60)))
    // A refused connection fails the request at once: the subscription's retryPolicy decides about retries and
    // their waits, not the pool's own reconnection loop.
    httpConfiguration.connectionPool.retryConnectionEstablishment = false
    let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    let sinkFactory = SinkFactory(httpClient: httpClient, logger: logger, localAuditLogPath: arguments.sinkAuditLog)
    let initialiser = Initialiser(dossierConninfo: try database.dossierConninfo(), sinkFactory: sinkFactory, options: options.initialiser, logger: logger)
    let worker = WorkerService(storeConninfo: storeConninfo, initialiser: initialiser, options: options, logger: logger, onOutcome: onOutcome)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
    ]
    services += additionalServices(registry, logger).map { .init(service: $0) }
    if let metricsPort {
        services.append(.init(service: MetricsServer(host: metricsHost, port: metricsPort, registry: registry, logger: logger)))
    }
    let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    do {
        try await group.run()
    } catch {
        try? await httpClient.shutdown()
        throw error
    }
    try await httpClient.shutdown()
}

struct RunOnce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-once",
        abstract: "Claims and initialises every new filter of active subscriptions, then exits: 0 when all succeeded, 1 when any failed."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var arguments: WorkerArguments

    func run() async throws {
        let outcomes = Mutex<[FilterOutcome]>([])
        try await reportingErrors {
            try await runWorker(database: database, arguments: arguments, exitWhenIdle: true, metricsHost: "127.0.0.1", metricsPort: nil) { outcome in
                outcomes.withLock { $0.append(outcome) }
                print(Self.line(outcome))
            }
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

    func run() async throws {
        try await reportingErrors {
            try await runWorker(database: database, arguments: arguments, exitWhenIdle: false, metricsHost: metricsHost, metricsPort: metricsPort) { _ in }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Prints the key filters by status, with the pending ones' workers and lease expiry.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let report = try await SubscriptionStore(connection: try await database.connectStore()).statusReport()
            for status in KeyFilterStatus.allCases {
                print("\(status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(report.counts[status] ?? 0)")
            }
            if report.waiting > 0 { print("(\(report.waiting) new filter(s) waiting for a retry backoff or a suspended subscription)") }
            for pending in report.pending {
                print("pending  \(pending.subscriptionId)/\(pending.key) by \(pending.initializer ?? "?") attempt \(pending.attempt), lease until \(pending.leaseExpiresAt ?? "?")\(pending.leaseExpired ? " (expired: will be claimed again)" : "")")
            }
            for failed in report.failed {
                print("failed   \(failed.subscriptionId)/\(failed.key): \(failed.message ?? "")")
            }
        }
    }
}
