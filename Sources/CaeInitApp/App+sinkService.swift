import AsyncHTTPClient
import CaeInitKafka
import CaeInitSinkService
import CaeInitSinks
import CaeInitWorker
import Logging
import Prometheus
import ServiceLifecycle

/// What `cae-init sink-service` runs besides the store (`AppConfiguration`): the Kafka consumer and the loop.
public struct SinkServiceConfiguration: Sendable {
    public var consumer: KafkaConsumerOptions
    public var loop: SinkServiceOptions
    /// How often the hand-off drainer looks for ready keys with kept events when no notification comes.
    public var handOffSweepInterval: Duration

    public init(consumer: KafkaConsumerOptions, loop: SinkServiceOptions = .init(), handOffSweepInterval: Duration = .seconds(30)) {
        self.consumer = consumer
        self.loop = loop
        self.handOffSweepInterval = handOffSweepInterval
    }
}

/// Builds the Sink Service's process: the consuming loop on `LiveEventDelivery`, the hand-off drainer, the topic
/// change listener and, when configured, the metrics endpoint. The group shuts down in reverse order: the loop
/// first (stops polling, finishes deliveries, commits, leaves the group), then the drainer and the listener, and
/// last the delivery's sinks and connection pools. Throws when the consumer options are refused.
public func buildSinkServiceApp(
    _ configuration: AppConfiguration,
    sinkService: SinkServiceConfiguration,
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger
) throws -> App {
    try sinkService.loop.validate()
    var httpConfiguration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(60)))
    // As the worker's: the subscription's retryPolicy decides about retries, not the pool's reconnection loop.
    httpConfiguration.connectionPool.retryConnectionEstablishment = false
    let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    let consumer: KafkaConsumer
    do {
        consumer = try KafkaConsumer(options: sinkService.consumer, logger: logger)
    } catch {
        try? httpClient.syncShutdown()
        throw error
    }
    let delivery = LiveEventDelivery(
        storeConninfo: configuration.storeConninfo, dossierConninfo: configuration.dossierConninfo, sealer: configuration.sealer,
        sinkFactory: SinkFactory(httpClient: httpClient, logger: logger, localAuditLogPath: configuration.sinkAuditLogPath), logger: logger
    )
    let listener = SinkServiceTopicListener(storeConninfo: configuration.storeConninfo, logger: logger)
    let drainer = HandOffDrainer(
        delivery: delivery, storeConninfo: configuration.storeConninfo, sealer: configuration.sealer,
        sweepInterval: sinkService.handOffSweepInterval, logger: logger
    )
    let loop = SinkService(consumer: consumer, handler: delivery, options: sinkService.loop, topicChanges: listener.changes, logger: logger)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: DeliveryShutdown(delivery: delivery)),
    ]
    if let metrics = configuration.metrics {
        services.append(.init(service: MetricsServer(host: metrics.host, port: metrics.port, registry: registry, logger: logger)))
    }
    services += [
        .init(service: listener),
        .init(service: drainer),
        // The loop ending (a fatal Kafka error) ends the process.
        .init(service: loop, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
    ]
    return App(services: services, httpClient: httpClient, logger: logger)
}

/// Shut down last (first in the group): the delivery's cached sinks and connection pools, once nothing uses them.
private struct DeliveryShutdown: Service {
    let delivery: LiveEventDelivery

    func run() async throws {
        try? await gracefulShutdown()
        await delivery.shutdown()
    }
}
