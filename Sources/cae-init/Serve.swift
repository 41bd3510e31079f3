import ArgumentParser
import CaeInitAPI
import CaeInitApp
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
            let (logger, registry) = try database.bootstrapService()
            let sealer = try database.sealer()
            let configuration = AppConfiguration(
                storeConninfo: try database.storeConninfo(),
                dossierConninfo: try database.dossierConninfo(),
                worker: worker ? try workerArguments.workerOptions(exitWhenIdle: false) : nil,
                sinkAuditLogPath: workerArguments.sinkAuditLog,
                sealer: sealer
            )
            // Fail fast, with the conninfo (no password), when a database cannot be reached at start.
            try await database.connectStore().close()
            if worker { try await database.connectDossiers().close() }
            let api = APIService(
                storeConninfo: configuration.storeConninfo, sealer: sealer, host: host, port: port, logger: logger,
                maximumConnections: maxConnections, allowLocalDirectorySinks: allowLocalDirectorySinks,
                metricsExposition: { registry.emitToBuffer() }
            )
            try await buildApp(configuration, registry: registry, logger: logger).adding([.init(service: api)]).run()
        }
    }
}
