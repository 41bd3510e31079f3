import ArgumentParser
import CaeInitCore

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "For one object of a dossier: its versions, each situation period's reference date, the version the period selects (or none) and why, and the files written. No database needed."
    )

    @Argument(help: "A dossier fixture (SPEC §6).") var fixture: String
    @Option(name: .customLong("object"), help: "The id of a journal, compte or écriture.") var object: String
    @OptionGroup var settings: CaseSettingsOptions

    func run() async throws {
        try await reportingErrors {
            let dossier = try loadFixture(fixture)
            guard let id = UUIDText.canonical(object) else { throw CLIError("--object: \"\(object.prefix(60))\" is not a UUID") }
            let explanations = try HistoryExplanation.explain(fixture: dossier, objectId: id, pipeline: try settings.settings().pipeline(for: dossier))
            guard !explanations.isEmpty else { throw CLIError("--object: no journal, compte or écriture \(id) in \(fixture)") }
            print(explanations.map(\.text).joined(separator: "\n\n"))
        }
    }
}
