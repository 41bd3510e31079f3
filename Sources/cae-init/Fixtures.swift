import ArgumentParser
import CaeInitCore
import CaeInitStore

struct Fixtures: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Dossier fixtures (SPEC §6).", subcommands: [Load.self])

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Loads dossiers from fixture files; loading a dossier again replaces it. Every file is checked before any is loaded.")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Fixture files, one dossier each.") var files: [String]

        func run() async throws {
            try await reportingErrors {
                var fixtures: [(String, DossierFixture)] = []
                for file in files {
                    do {
                        fixtures.append((file, try DossierFixture.parse(try readFile(file))))
                    } catch let error as FieldError {
                        throw CLIError("\(file): \(error) (nothing was loaded)")
                    }
                }
                // All files in one transaction: PostgreSQL refusing one (a value it cannot store) loads none.
                try await DossierStore(connection: try await database.connectDossiers()).load(fixtures.map(\.1))
                for (file, fixture) in fixtures {
                    let counts = ObjectKind.allCases.map { kind in
                        let versions = fixture.versions[kind] ?? []
                        return "\(versions.filter(\.isCurrent).count) \(kind.fixtureKey) (+\(versions.filter { !$0.isCurrent }.count) history)"
                    }
                    print("loaded \(fixture.entiteId) from \(file): \(fixture.periods.count) periods, \(counts.joined(separator: ", "))")
                }
            }
        }
    }
}
