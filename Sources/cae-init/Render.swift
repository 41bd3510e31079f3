import ArgumentParser
import CaeInitCore

struct Render: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Writes the files an initialisation of a dossier would write (manifest aside), computed by the worker's own core, with no database and no sink: to draft a case's expected/ or answer \"what would this dossier give?\"."
    )

    @Argument(help: "A dossier fixture (SPEC §6).") var fixture: String
    @OptionGroup var settings: CaseSettingsOptions
    @Option(name: .customLong("out"), help: "Folder to write the files to; absent or empty.") var out: String

    func run() async throws {
        try await reportingErrors {
            let dossier = try loadFixture(fixture)
            let rendered = try settings.settings().pipeline(for: dossier).render(dossier)
            try CaseFiles.writeTree(rendered.files, to: out)
            print("wrote \(rendered.files.count) file(s) to \(out): \(rendered.counts.summary)")
        }
    }
}
