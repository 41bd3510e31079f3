import ArgumentParser
import CaeInitPostgres
import CaeInitStore
import Foundation
import Logging

/// Where the subscription store and the dossier data live.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "Subscription store: a libpq connection string or URI (default: $DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("dossier-database-url"), help: "Dossier data, when in another database (default: $DOSSIER_DATABASE_URL, else the subscription store's).")
    var dossierDatabaseURL: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"

    func storeConninfo() throws -> String {
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty { return env }
        throw CLIError("no database given: set DATABASE_URL or pass --database-url")
    }

    func dossierConninfo() throws -> String {
        if let dossierDatabaseURL, !dossierDatabaseURL.isEmpty { return dossierDatabaseURL }
        if let env = ProcessInfo.processInfo.environment["DOSSIER_DATABASE_URL"], !env.isEmpty { return env }
        return try storeConninfo()
    }

    func connectStore() async throws -> PostgresConnection {
        try await connect(try storeConninfo(), what: "the subscription store")
    }

    func connectDossiers() async throws -> PostgresConnection {
        try await connect(try dossierConninfo(), what: "the dossier database")
    }

    private func connect(_ conninfo: String, what: String) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(conninfo)
        } catch {
            throw CLIError("cannot connect to \(what): \(error)")
        }
    }

    func bootstrapLogging() {
        let level = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// A failure the CLI reports in one line on standard error, exiting with status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Reads a whole file, naming it when it cannot.
func readFile(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError("\(path): cannot read the file")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(path): not UTF-8 text") }
    return text
}

/// Runs a command body, turning any error into one line on standard error and exit status 1.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
