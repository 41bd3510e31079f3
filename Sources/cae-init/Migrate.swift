import ArgumentParser
import CaeInitStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Creates or upgrades the schema (idempotent). Migrates the dossier database too when it is another one.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let store = try await database.connectStore()
            let applied = try await Migrator(connection: store).migrate()
            let version = try await Migrator(connection: store).currentVersion() ?? 0
            print(applied.isEmpty ? "subscription store: up to date (schema version \(version))" : "subscription store: applied \(applied.map { "V\($0)" }.joined(separator: ", ")) (schema version \(version))")
            if try database.dossierConninfo() != database.storeConninfo() {
                let dossiers = try await database.connectDossiers()
                let applied = try await Migrator(connection: dossiers).migrate()
                print(applied.isEmpty ? "dossier database: up to date" : "dossier database: applied \(applied.map { "V\($0)" }.joined(separator: ", "))")
            }
        }
    }
}
