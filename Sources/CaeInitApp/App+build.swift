import AsyncHTTPClient
import CaeInitSinks
import CaeInitStore
import CaeInitWorker
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// The services of one process, built from its configuration: the single place where modules are wired
/// (the Hummingbird template's `App+build.swift`). The CLI and the in-process tests both go through it.
public struct App: Sendable {
    public let services: [ServiceGroupConfiguration.ServiceConfiguration]
    /// Shared by every remote sink of the process; shut down after the services.
    let httpClient: HTTPClient
    let logger: Logger

    /// Runs the services until they end or SIGTERM/SIGINT; then shuts the HTTP client down.
    public func run(signals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: signals, logger: logger))
        do {
            try await group.run()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }
}

/// Builds the process's services. `registry` is where `/metrics` reads from (the CLI bootstraps swift-metrics with it).
public func buildApp(
    _ configuration: AppConfiguration,
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger,
    onOutcome: @escaping OutcomeHandler = { _ in },
    onProgress: ProgressHandler? = nil
) -> App {
    var httpConfiguration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(60)))
    // A refused connection fails the request at once: the subscription's retryPolicy decides about retries and
    // their waits, not the pool's own reconnection loop.
    httpConfiguration.connectionPool.retryConnectionEstablishment = false
    let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    if let options = configuration.worker {
        let sinkFactory = SinkFactory(
            httpClient: httpClient, logger: logger, localAuditLogPath: configuration.sinkAuditLogPath,
            localWriterThreads: options.initialiser.localWriterThreads
        )
        let initialiser = Initialiser(dossierConninfo: configuration.dossierConninfo, sinkFactory: sinkFactory, options: options.initialiser, logger: logger)
        let worker = WorkerService(
            storeConninfo: configuration.storeConninfo, sealer: configuration.sealer, initialiser: initialiser,
            options: options, logger: logger, onOutcome: onOutcome, onProgress: onProgress
        )
        services.append(.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
    }
    if let metrics = configuration.metrics {
        services.append(.init(service: MetricsServer(host: metrics.host, port: metrics.port, registry: registry, logger: logger)))
    }
    return App(services: services, httpClient: httpClient, logger: logger)
}
