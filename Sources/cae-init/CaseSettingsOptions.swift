import ArgumentParser
import CaeInitCore

/// What a subscription changes in the files written, as options of `render` and `explain`.
struct CaseSettingsOptions: ParsableArguments {
    @Flag(name: .customLong("history"), help: "As a subscription with initWithHistory: true.") var history = false
    @Option(name: .customLong("filters"), help: #"The subscription's filters, a JSON object, e.g. '{"type":2}'."#) var filters: String?
    @Option(name: .customLong("folder-name"), help: "The sink's options.folderName.") var folderName: String = "entite_id"

    func settings() throws -> CaseSettings {
        var object: JSONObject?
        if let filters {
            let value: JSONValue
            do { value = try JSONValue.parse(filters) } catch { throw CLIError("--filters: not valid JSON: \(error)") }
            guard let parsed = value.objectValue else { throw CLIError("--filters: expected a JSON object (property → value), found \(value.typeName)") }
            object = parsed
        }
        guard !folderName.isEmpty else { throw CLIError("--folder-name: must not be empty") }
        return CaseSettings(initWithHistory: history, filters: object, folderName: folderName)
    }
}

/// Reads and validates a fixture file, naming it on failure. Amounts PostgreSQL would rewrite are refused: what
/// `render` and `explain` print must be what the worker writes.
func loadFixture(_ path: String) throws -> DossierFixture {
    do {
        let fixture = try DossierFixture.parse(try readFile(path))
        try GoldenCase.refuseAmountsPostgreSQLRewrites(fixture)
        return fixture
    } catch let error as FieldError {
        throw CLIError("\(path): \(error)")
    }
}
