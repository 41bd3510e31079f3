import ArgumentParser
import CaeInitAPI
import CaeInitStore
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serves the Sink Subscription REST API until SIGTERM/SIGINT (requests in flight finish); with --worker, runs the worker in the same process."
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Address to bind.") var host: String = "127.0.0.1"
    @Option(help: "Port to bind (0: any free port, logged).") var port: Int = 8080
    @Option(name: .customLong("max-connections"), help: "Database connections the API uses at most.") var maxConnections: Int = 10
    @Flag(name: .customLong("allow-local-directory-sinks"), help: "Let clients set Local Directory sinks (they write on the worker's host): demos and tests only.") var allowLocalDirectorySinks = false
    @Flag(help: "Also run the worker (small installs, the demo); production runs workers as their own deployment.") var worker = false
    @OptionGroup(title: "Worker options (with --worker)") var workerArguments: WorkerArguments

    func run() async throws {
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        try await reportingErrors {
            let storeConninfo = try database.storeConninfo()
            let (host, port, maxConnections, allowLocalDirectorySinks) = (self.host, self.port, self.maxConnections, self.allowLocalDirectorySinks)
            let makeAPI = { (registry: PrometheusCollectorRegistry, logger: Logger) -> any Service in
                APIService(
                    storeConninfo: storeConninfo, sealer: .plaintext, host: host, port: port, logger: logger,
                    maximumConnections: maxConnections, allowLocalDirectorySinks: allowLocalDirectorySinks,
                    metricsExposition: { registry.emitToBuffer() }
                )
            }
            if worker {
                try await runWorker(database: database, arguments: workerArguments, exitWhenIdle: false, metricsHost: host, metricsPort: nil,
                                    additionalServices: { registry, logger in [makeAPI(registry, logger)] }) { _ in }
                return
            }
            database.bootstrapLogging()
            let logger = Logger(label: "cae-init")
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            // Fail fast, with the conninfo (no password), when the store cannot be reached at start.
            _ = try await database.connectStore()
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: makeAPI(registry, logger))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
            try await group.run()
        }
    }
}
