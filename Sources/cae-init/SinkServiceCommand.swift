import ArgumentParser
import CaeInitApp
import CaeInitKafka
import CaeInitSinkService
import Foundation
import Logging
import Metrics
import Prometheus

/// `cae-init sink-service`: consumes the active subscriptions' Kafka topics and delivers each event of a ready key
/// to the sinks (README, "Live events (Sink Service)"). Defaults come from `KafkaConsumerOptions` and
/// `SinkServiceOptions`, where each is documented.
struct SinkServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink-service",
        abstract: "Consumes the active subscriptions' Kafka topics into their sinks until SIGTERM/SIGINT (then stops polling, finishes deliveries, commits and leaves the group)."
    )
    static let consumerDefaults = KafkaConsumerOptions(brokers: [])
    static let loopDefaults = SinkServiceOptions()

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Kafka bootstrap brokers, host:port, comma-separated (default: $KAFKA_BROKERS).") var brokers: String?
    @Option(help: "The consumer group: instances of one group share the partitions.") var group: String = consumerDefaults.groupID
    @Option(name: .customLong("client-id"), help: "The client id the brokers see.") var clientID: String = consumerDefaults.clientID
    @Option(name: .customLong("session-timeout-seconds"), help: "An instance silent for this long is removed from the group.") var sessionTimeoutSeconds: Double = consumerDefaults.sessionTimeout.seconds
    @Option(name: .customLong("poll-timeout-ms"), help: "Longest wait of one poll; bounds how fast a shutdown is noticed.") var pollTimeoutMs: Double = consumerDefaults.pollTimeout.seconds * 1000
    @Option(name: .customLong("max-batch"), help: "Most messages delivered per poll.") var maxBatch: Int = consumerDefaults.maxBatch
    @Option(name: .customLong("kafka-property"), help: "Another librdkafka property, name=value (repeatable): security.protocol, sasl.mechanism… Values are never logged.")
    var kafkaProperties: [String] = []
    @Option(name: .customLong("kafka-properties-file"), help: "A file of librdkafka properties, name=value per line (# comments): secrets such as sasl.password stay off the command line. --kafka-property overrides it.")
    var kafkaPropertiesFile: String?
    @Option(name: .customLong("partition-concurrency"), help: "Partitions delivered at once (a partition's messages always in order).") var partitionConcurrency: Int = loopDefaults.partitionConcurrency
    @Option(name: .customLong("topic-refresh-seconds"), help: "Longest wait between reads of the subscriptions' topics (a subscription change is noticed at once through NOTIFY).") var topicRefreshSeconds: Double = loopDefaults.topicRefreshInterval.seconds
    @Option(name: .customLong("grace-seconds"), help: "On SIGTERM/SIGINT, time for deliveries in flight to finish; those still running are then not committed (delivered again after a restart).") var graceSeconds: Double = loopDefaults.gracefulShutdownTimeout.seconds
    @Option(name: .customLong("retry-delay-ms"), help: "Wait before a message whose delivery failed (the store unreachable) is delivered again, doubled at each failure in a row.") var retryDelayMs: Double = loopDefaults.retryBaseDelay.seconds * 1000
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics at http://<metrics-host>:<port>/metrics.") var metricsPort: Int?
    @Option(name: .customLong("metrics-host"), help: "Address the metrics endpoint binds to.") var metricsHost: String = "0.0.0.0"
    @Option(name: .customLong("sink-audit-log"), help: "Append one line per file a Local Directory sink writes (time, pid, object) to this file.") var sinkAuditLog: String?

    /// The CLI flag of each option property, to name it in errors.
    static let flags = [
        "brokers": "--brokers", "groupID": "--group", "clientID": "--client-id", "sessionTimeout": "--session-timeout-seconds",
        "pollTimeout": "--poll-timeout-ms", "maxBatch": "--max-batch", "partitionConcurrency": "--partition-concurrency",
        "topicRefreshInterval": "--topic-refresh-seconds", "gracefulShutdownTimeout": "--grace-seconds", "retryBaseDelay": "--retry-delay-ms",
        "retryMaxDelay": "--retry-delay-ms",
    ]

    func validate() throws {
        _ = try sinkServiceConfiguration()
        if let metricsPort, !(1...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be between 1 and 65535") }
    }

    func sinkServiceConfiguration() throws -> SinkServiceConfiguration {
        guard let brokerList = brokers ?? ProcessInfo.processInfo.environment["KAFKA_BROKERS"], !brokerList.isEmpty else {
            throw ValidationError("--brokers: no Kafka broker given (pass --brokers host:port or set KAFKA_BROKERS)")
        }
        var extra: [String: String] = [:]
        if let kafkaPropertiesFile {
            guard let text = try? String(contentsOfFile: kafkaPropertiesFile, encoding: .utf8) else {
                throw ValidationError("--kafka-properties-file: cannot read \(kafkaPropertiesFile) as UTF-8 text")
            }
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                let parts = trimmed.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                // The line is not repeated: it may hold a secret.
                guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--kafka-properties-file: line \(index + 1) is not name=value") }
                extra[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        for property in kafkaProperties {
            let parts = property.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--kafka-property takes name=value (got a value without \"=\" or a name)") }
            extra[String(parts[0])] = String(parts[1])
        }
        let consumer = KafkaConsumerOptions(
            brokers: brokerList.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
            groupID: group, clientID: clientID,
            sessionTimeout: try WorkerArguments.duration(milliseconds: sessionTimeoutSeconds * 1000, flag: "--session-timeout-seconds"),
            pollTimeout: try WorkerArguments.duration(milliseconds: pollTimeoutMs, flag: "--poll-timeout-ms"),
            maxBatch: maxBatch, extra: extra
        )
        do {
            try consumer.validate()
        } catch {
            let flag = error.property.map { Self.flags[$0] ?? "--kafka-property \($0)" } ?? "--brokers"
            throw ValidationError("\(flag): \(error.message)")
        }
        var loop = SinkServiceOptions(
            partitionConcurrency: partitionConcurrency,
            topicRefreshInterval: try WorkerArguments.duration(milliseconds: topicRefreshSeconds * 1000, flag: "--topic-refresh-seconds"),
            gracefulShutdownTimeout: try WorkerArguments.duration(milliseconds: graceSeconds * 1000, flag: "--grace-seconds"),
            retryBaseDelay: try WorkerArguments.duration(milliseconds: retryDelayMs, flag: "--retry-delay-ms")
        )
        loop.retryMaxDelay = max(loop.retryMaxDelay, loop.retryBaseDelay)
        do {
            try loop.validate()
        } catch {
            throw ValidationError("\(Self.flags[error.option] ?? error.option) \(error.reason)")
        }
        return SinkServiceConfiguration(consumer: consumer, loop: loop)
    }

    func run() async throws {
        try await reportingErrors {
            let (logger, registry) = try database.bootstrapService()
            let configuration = AppConfiguration(
                storeConninfo: try database.storeConninfo(),
                dossierConninfo: try database.dossierConninfo(),
                metrics: metricsPort.map { (metricsHost, $0) },
                sinkAuditLogPath: sinkAuditLog,
                sealer: try database.sealer()
            )
            // Fail fast, with the conninfo (no password), when a database cannot be reached at start.
            try await database.connectStore().close()
            try await database.connectDossiers().close()
            try await buildSinkServiceApp(configuration, sinkService: try sinkServiceConfiguration(), registry: registry, logger: logger).run()
        }
    }
}
