import ArgumentParser
import CaeInitPostgres
import CaeInitStore
import Foundation
import Logging
import Metrics
import Prometheus

/// Where the subscription store and the dossier data live, how secrets are sealed, and the log level: the options
/// every command shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "Subscription store: a libpq connection string or URI (default: $DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("dossier-database-url"), help: "Dossier data, when in another database (default: $DOSSIER_DATABASE_URL, else the subscription store's).")
    var dossierDatabaseURL: String?

    @Option(name: .customLong("secrets-key-file"), help: "File holding the keys that seal sink secrets at rest: base64 of 32 random bytes, the sealing key first, others (older) after, comma- or line-separated (default: $CAE_INIT_SECRETS_KEY).")
    var secretsKeyFile: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default: $LOG_LEVEL, else info).")
    var logLevel: String?

    static let environment = ProcessInfo.processInfo.environment

    func validate() throws {
        _ = try level()
        for (name, value) in [("--database-url / DATABASE_URL", try? storeConninfo()), ("--dossier-database-url / DOSSIER_DATABASE_URL", try? dossierConninfo())] {
            guard let value else { continue }
            do { try Conninfo.validate(value, name: name) } catch { throw ValidationError(error.message) }
        }
    }

    func level() throws -> Logger.Level {
        let text = logLevel ?? Self.environment["LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("--log-level: \"\(text.prefix(40))\" is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return level
    }

    func storeConninfo() throws -> String {
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        if let env = Self.environment["DATABASE_URL"], !env.isEmpty { return env }
        throw CLIError("no database given: set DATABASE_URL or pass --database-url")
    }

    func dossierConninfo() throws -> String {
        if let dossierDatabaseURL, !dossierDatabaseURL.isEmpty { return dossierDatabaseURL }
        if let env = Self.environment["DOSSIER_DATABASE_URL"], !env.isEmpty { return env }
        return try storeConninfo()
    }

    /// The sealer of sink secrets: the keyring of `--secrets-key-file` or `CAE_INIT_SECRETS_KEY`, else plaintext
    /// with a loud warning (secrets would be stored in clear).
    func sealer(warnIfNone: Bool = true) throws -> SinkSealer {
        var text: String?
        var source = "CAE_INIT_SECRETS_KEY"
        if let secretsKeyFile {
            text = try readFile(secretsKeyFile)
            source = secretsKeyFile
        } else if let env = Self.environment["CAE_INIT_SECRETS_KEY"], !env.isEmpty {
            text = env
        }
        guard let text else {
            if warnIfNone {
                FileHandle.standardError.write(Data("WARNING: no secrets key (CAE_INIT_SECRETS_KEY or --secrets-key-file): sink secrets are stored in clear in the database\n".utf8))
            }
            return .plaintext
        }
        do { return try SinkSealer(keyring: text) } catch { throw CLIError("\(source): \(error)") }
    }

    func connectStore() async throws -> PostgresConnection {
        try await connect(try storeConninfo(), what: "the subscription store")
    }

    func connectDossiers() async throws -> PostgresConnection {
        try await connect(try dossierConninfo(), what: "the dossier database")
    }

    func subscriptionStore(warnIfNoKey: Bool = false) async throws -> SubscriptionStore {
        SubscriptionStore(connection: try await connectStore(), sealer: try sealer(warnIfNone: warnIfNoKey))
    }

    private func connect(_ conninfo: String, what: String) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(conninfo)
        } catch {
            throw CLIError("cannot connect to \(what): \(error)")
        }
    }

    /// For the long-running commands (`worker`, `run-once`, `serve`, `sink-service`): logging at the chosen level,
    /// the process's logger, and Prometheus as the metrics backend, whose registry `/metrics` exposes.
    func bootstrapService() throws -> (logger: Logger, registry: PrometheusCollectorRegistry) {
        try bootstrapLogging()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return (Logger(label: "cae-init"), registry)
    }

    func bootstrapLogging() throws {
        let level = try level()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
