/// A regression case of the history rules (`Fixtures/cases/<name>/`): a dossier (`dossier.json`, SPEC §6), the
/// settings that change the output (`subscription.json`, optional), and the exact files an initialisation must
/// write (`expected/`, manifest aside) — or, for a dossier whose initialisation must fail (a hostile folder
/// name), `expected-failure.txt`: text the failure message must contain. Reading the folder is the caller's job:
/// the core does no I/O.
public struct GoldenCase: Sendable {
    public static let dossierFile = "dossier.json"
    public static let subscriptionFile = "subscription.json"
    public static let expectedFolder = "expected"
    public static let expectedFailureFile = "expected-failure.txt"
    /// Ignored in `expected/`, so that a case expecting no file can still be a folder in git.
    public static let placeholderFile = ".gitkeep"

    public let name: String
    public let fixture: DossierFixture
    public let settings: CaseSettings
    /// Object name → exact bytes.
    public let expected: [String: [UInt8]]
    /// When set, the initialisation must fail with a message containing this text (and `expected` is empty).
    public let expectedFailure: String?

    public init(name: String, fixture: DossierFixture, settings: CaseSettings, expected: [String: [UInt8]], expectedFailure: String? = nil) {
        self.name = name
        self.fixture = fixture
        self.settings = settings
        self.expected = expected.filter { $0.key != Self.placeholderFile }
        self.expectedFailure = expectedFailure
    }

    /// Parses a case's files; an error names the file and the field.
    /// - Parameter expectedFailure: the content of `expected-failure.txt`, if the case has one.
    public static func parse(name: String, dossier: String, subscription: String?, expected: [String: [UInt8]], expectedFailure: String? = nil) throws(FieldError) -> GoldenCase {
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
        var failure: String?
        if let expectedFailure {
            let text = expectedFailure.trimmingWhitespace()
            guard !text.isEmpty else { throw FieldError(expectedFailureFile, "is empty: write the message the initialisation must fail with") }
            guard expected.keys.allSatisfy({ $0 == placeholderFile }) else {
                throw FieldError(expectedFailureFile, "a case expects files (\(expectedFolder)/) or a failure, not both")
            }
            failure = text
        }
        return GoldenCase(name: name, fixture: fixture, settings: settings, expected: expected, expectedFailure: failure)
    }

    /// The files the pure core gives for this case.
    public func render() throws -> RenderedDossier {
        try settings.pipeline(for: fixture).render(fixture)
    }

    /// How `actual` (object name → bytes, manifest aside) differs from `expected/`; empty when the case passes.
    public func differences(from actual: [String: [UInt8]]) -> [FileDifference] {
        FileComparison.differences(expected: expected, actual: actual)
    }

    /// What running a case gave: the files written, or the message of the failure.
    public enum Outcome: Sendable {
        case wrote([String: [UInt8]])
        case failed(String)
    }

    /// Why `outcome` does not pass the case, one line each; empty when it passes. Files written before a
    /// failure are not checked: a failed run writes no manifest, so its files are not a complete initialisation.
    public func problems(with outcome: Outcome) -> [String] {
        switch (expectedFailure, outcome) {
        case (nil, .wrote(let files)):
            return differences(from: files).flatMap(\.lines)
        case (nil, .failed(let message)):
            return ["failed: \(message) (expected \(expected.count) file(s))"]
        case (let want?, .failed(let message)):
            return message.contains(want) ? [] : ["failed with: \(message)", "expected a failure containing: \(want)"]
        case (let want?, .wrote(let files)):
            return ["wrote \(files.count) file(s) and succeeded; expected a failure containing: \(want)"]
        }
    }

    /// The outcome of this case through the pure core.
    public func renderOutcome() -> Outcome {
        do { return .wrote(try render().filesByName) } catch { return .failed("\(error)") }
    }

    private static func prefixed(_ file: String, _ error: FieldError) -> FieldError {
        FieldError(error.path.isEmpty ? file : "\(file): \(error.path)", error.reason)
    }

    /// PostgreSQL's `numeric` gives `1E+2` back as `100` and `-0.00` as `0.00`, so the worker would not write
    /// such an amount as the dossier gives it, and `render` (or a case's two paths) could never agree with it:
    /// refused, naming the amount.
    public static func refuseAmountsPostgreSQLRewrites(_ fixture: DossierFixture) throws(FieldError) {
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
                    throw FieldError(
                        "ecriture \(version.id) (validFrom \(version.validFrom)) lignes[\(i)].\(amount)",
                        "write \(literal) \(advice): PostgreSQL gives it back in that form, so the worker would not write it as given"
                    )
                }
            }
        }
    }
}

private extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
