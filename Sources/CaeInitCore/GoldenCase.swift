/// A regression case of the history rules (`Fixtures/cases/<name>/`): a dossier (`dossier.json`, SPEC §6), the
/// settings that change the output (`subscription.json`, optional), and the exact files an initialisation must
/// write (`expected/`, manifest aside). Reading the folder is the caller's job: the core does no I/O.
public struct GoldenCase: Sendable {
    public static let dossierFile = "dossier.json"
    public static let subscriptionFile = "subscription.json"
    public static let expectedFolder = "expected"
    /// Ignored in `expected/`, so that a case expecting no file can still be a folder in git.
    public static let placeholderFile = ".gitkeep"

    public let name: String
    public let fixture: DossierFixture
    public let settings: CaseSettings
    /// Object name → exact bytes.
    public let expected: [String: [UInt8]]

    public init(name: String, fixture: DossierFixture, settings: CaseSettings, expected: [String: [UInt8]]) {
        self.name = name
        self.fixture = fixture
        self.settings = settings
        self.expected = expected.filter { $0.key != Self.placeholderFile }
    }

    /// Parses a case's files; an error names the file and the field.
    public static func parse(name: String, dossier: String, subscription: String?, expected: [String: [UInt8]]) throws(ValidationError) -> GoldenCase {
        let fixture: DossierFixture
        do {
            fixture = try DossierFixture.parse(dossier)
            try refuseAmountsPostgreSQLRewrites(fixture)
        } catch {
            throw prefixed(dossierFile, error)
        }
        var settings = CaseSettings()
        if let subscription {
            do { settings = try CaseSettings.parse(subscription) } catch { throw prefixed(subscriptionFile, error) }
        }
        return GoldenCase(name: name, fixture: fixture, settings: settings, expected: expected)
    }

    /// The files the pure core gives for this case.
    public func render() throws -> RenderedDossier {
        try settings.pipeline(for: fixture).render(fixture)
    }

    /// How `actual` (object name → bytes, manifest aside) differs from `expected/`; empty when the case passes.
    public func differences(from actual: [String: [UInt8]]) -> [FileDifference] {
        FileComparison.differences(expected: expected, actual: actual)
    }

    private static func prefixed(_ file: String, _ error: ValidationError) -> ValidationError {
        ValidationError(error.path.isEmpty ? file : "\(file): \(error.path)", error.reason)
    }

    /// PostgreSQL's `numeric` gives `1E+2` back as `100` and `-0.00` as `0.00`, so the worker would not write
    /// such an amount as the dossier gives it, and `render` (or a case's two paths) could never agree with it:
    /// refused, naming the amount.
    public static func refuseAmountsPostgreSQLRewrites(_ fixture: DossierFixture) throws(ValidationError) {
        guard let index = ObjectKind.ecriture.fields.firstIndex(where: { $0.type == .lignes }) else { return }
        for version in fixture.versions[.ecriture] ?? [] {
            guard let lignes = version.fields[index].arrayValue else { continue }
            for (i, ligne) in lignes.enumerated() {
                for amount in ["debit", "credit"] {
                    guard case .number(let literal) = ligne.objectValue?[amount] ?? .null else { continue }
                    let advice: String
                    if literal.contains(where: { $0 == "e" || $0 == "E" }) {
                        advice = "without an exponent"
                    } else if literal.hasPrefix("-") && literal.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
                        advice = "without its minus sign"
                    } else {
                        continue
                    }
                    throw ValidationError(
                        "ecriture \(version.id) (validFrom \(version.validFrom)) lignes[\(i)].\(amount)",
                        "write \(literal) \(advice): PostgreSQL gives it back in that form, so the worker would not write it as given"
                    )
                }
            }
        }
    }
}
