import CaeInitCore
import Foundation
import Testing

/// Issue 11: every case of `Fixtures/cases` through the pure core (the path `cae-init render` takes); the
/// integration suite runs the same cases through PostgreSQL, the worker and a Local Directory sink.
@Suite struct GoldenCaseTests {
    static let names = caseNames()

    @Test func discoveryFindsTheCases() {
        // A parameterised test over nothing would pass: make sure the cases are there.
        #expect(Self.names.count >= 18, "\(Self.names)")
        for name in ["fixture-history", "reference-date-on-valid-from", "reference-date-on-valid-to", "gap", "exact-decimals", "unicode-text"] {
            #expect(Self.names.contains(name))
        }
    }

    @Test("the core writes exactly expected/", arguments: names)
    func caseThroughTheCore(name: String) throws {
        let golden = try loadCase(casesRoot.appendingPathComponent(name))
        let problems = golden.problems(with: golden.renderOutcome())
        #expect(problems.isEmpty, "\(name):\n\(problems.joined(separator: "\n"))")
        if golden.expectedFailure == nil {
            let rendered = try golden.render()
            #expect(rendered.counts.total == rendered.files.count)
        }
    }

    @Test func oneDigitChangedInAnExpectedFileFailsNamingFileFieldAndBothValues() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: casesRoot.appendingPathComponent("exact-decimals"), to: copy)
        let file = "a0000000-0000-4000-8000-000000000007/ecriture/e7000000-0000-4000-8000-000000000001_1735603200000.json"
        let path = copy.appendingPathComponent("expected/\(file)")
        let original = try String(contentsOf: path, encoding: .utf8)
        #expect(original.contains(#""debit":9999999999999999.99"#))
        try original.replacingOccurrences(of: #""debit":9999999999999999.99"#, with: #""debit":9999999999999999.98"#)
            .write(to: path, atomically: true, encoding: .utf8)

        let golden = try loadCase(copy)
        let differences = golden.differences(from: try golden.render().filesByName)
        #expect(differences == [FileDifference(file: file, problem: .content([
            FieldDifference(path: "lignes[0].debit", expected: "9999999999999999.98", actual: "9999999999999999.99"),
        ]))])
        #expect(differences.first?.description == "differs  \(file): lignes[0].debit: expected 9999999999999999.98, got 9999999999999999.99")
    }

    @Test func theDemoFixturesHaveTheirCases() throws {
        // The cases copy Fixtures/dossier-*.json: a change to a demo fixture must be made to its cases too.
        for (fixture, cases) in [("dossier-history.json", ["fixture-history", "fixture-history-snapshot-only", "fixture-history-filter-code", "fixture-history-filter-decimal-value", "fixture-history-folder-numero"]), ("dossier-simple.json", ["fixture-simple"])] {
            for name in cases {
                let copy = try String(contentsOf: casesRoot.appendingPathComponent("\(name)/dossier.json"), encoding: .utf8)
                #expect(copy == (try fixtureText(fixture)), "\(name)/dossier.json differs from Fixtures/\(fixture)")
            }
        }
    }
}

@Suite struct FileComparisonTests {
    static let document = #"{"id":"x","lignes":[{"debit":1.10,"credit":null}],"ok":true}"#

    func compare(_ expected: String, _ actual: String) -> [FieldDifference] {
        let differences = FileComparison.differences(expected: ["f.json": Array(expected.utf8)], actual: ["f.json": Array(actual.utf8)])
        guard case .content(let fields)? = differences.first?.problem else { return [] }
        return fields
    }

    @Test func equalBytesGiveNothing() {
        #expect(FileComparison.differences(expected: ["a": [1], "b": [2]], actual: ["a": [1], "b": [2]]).isEmpty)
    }

    @Test func missingAndExtraFilesAreNamed() {
        let differences = FileComparison.differences(expected: ["a.json": [1], "b.json": [2]], actual: ["b.json": [2], "c.json": [3]])
        #expect(differences.map(\.description) == ["missing  a.json (expected, not written)", "extra    c.json (written, not expected)"])
    }

    @Test func decimalsAreComparedByTheirExactText() {
        #expect(compare(Self.document, Self.document.replacingOccurrences(of: "1.10", with: "1.1")) ==
            [FieldDifference(path: "lignes[0].debit", expected: "1.10", actual: "1.1")])
    }

    @Test func missingAndUnexpectedFieldsAndTypes() {
        let actual = #"{"id":"x","lignes":[{"debit":1.10,"credit":"0"}],"extra":null}"#
        #expect(compare(Self.document, actual) == [
            FieldDifference(path: "lignes[0].credit", expected: "null", actual: #""0""#),
            FieldDifference(path: "ok", expected: "true", actual: "(no such field)"),
            FieldDifference(path: "extra", expected: "(no such field)", actual: "null"),
        ])
    }

    @Test func arrayLengthsAreCompared() {
        let actual = #"{"id":"x","lignes":[{"debit":1.10,"credit":null},{"debit":0,"credit":0}],"ok":true}"#
        #expect(compare(Self.document, actual) == [FieldDifference(path: "lignes (length)", expected: "1 elements", actual: "2 elements")])
    }

    @Test func keyOrderAndSpacingAreDifferencesToo() {
        #expect(compare(#"{"a":1,"b":2}"#, #"{"b":2,"a":1}"#) == [FieldDifference(path: "(key order)", expected: "a, b", actual: "b, a")])
        let spaced = compare(#"{"a":1}"#, #"{"a": 1}"#)
        #expect(spaced.count == 1 && spaced[0].actual.contains("written differently") && spaced[0].actual.contains("byte 5"), "\(spaced)")
    }

    @Test func invalidJSONIsReported() {
        #expect(compare(#"{"a":1"#, #"{"a":1}"#).first?.actual.hasPrefix("the expected file is not: line 1") == true)
        #expect(compare(#"{"a":1}"#, #"{"a":"#).first?.actual.hasPrefix("the written file is not:") == true)
    }
}

@Suite struct CaseSettingsTests {
    @Test func theThreeSettingsAreRead() throws {
        let settings = try CaseSettings.parse(#"{"initWithHistory":true,"filters":{"type":2},"sink":{"options":{"folderName":"numero"}}}"#)
        #expect(settings == CaseSettings(initWithHistory: true, filters: JSONObject([("type", 2)]), folderName: "numero"))
        #expect(try CaseSettings.parse("{}") == CaseSettings())
    }

    @Test(arguments: [
        (#"{"sink":{"type":"Local Directory"}}"#, "sink.type: not allowed"),
        (#"{"sink":{"credentials":{}}}"#, "sink.credentials: not allowed"),
        (#"{"sink":{"options":{"path":"/tmp"}}}"#, "sink.options.path: not allowed"),
        (#"{"keyFilters":[]}"#, "keyFilters: not allowed"),
        (#"{"suspended":false}"#, "suspended: not allowed"),
        (#"{"filters":[1]}"#, "filters: expected an object"),
        (#"{"initWithHistory":"yes"}"#, "initWithHistory: expected true or false"),
        (#"{"sink":{"options":{"folderName":""}}}"#, "sink.options.folderName: must not be empty"),
        (#"{"sink":"#, "not valid JSON"),
    ])
    func anythingElseIsRefusedNamingTheField(text: String, message: String) {
        #expect {
            _ = try CaseSettings.parse(text)
        } throws: { error in
            "\(error)".hasPrefix(message) && (!message.contains("not allowed") || "\(error)".contains("only initWithHistory, filters and sink.options.folderName"))
        }
    }

    @Test func aCaseNamesTheFileOfItsError() throws {
        let dossier = try fixtureText("dossier-simple.json")
        #expect {
            _ = try GoldenCase.parse(name: "c", dossier: dossier, subscription: #"{"domain":"d"}"#, expected: [:])
        } throws: { "\($0)".hasPrefix("subscription.json: domain: not allowed") }
        #expect {
            _ = try GoldenCase.parse(name: "c", dossier: #"{"entite_id":"nope"}"#, subscription: nil, expected: [:])
        } throws: { "\($0)" == #"dossier.json: entite_id: "nope" is not a UUID"# }
    }

    @Test(arguments: [("1E+3", "without an exponent"), ("1000.00e0", "without an exponent"), ("-0.00", "without its minus sign"), ("-0", "without its minus sign")])
    func amountsPostgreSQLRewritesAreRefused(literal: String, advice: String) throws {
        let dossier = try fixtureText("dossier-simple.json").replacingOccurrences(of: #""debit": 1000.00"#, with: #""debit": \#(literal)"#)
        #expect {
            _ = try GoldenCase.parse(name: "c", dossier: dossier, subscription: nil, expected: [:])
        } throws: { error in
            "\(error)".hasPrefix("dossier.json: ecriture b3000000-0000-4000-8000-000000000010 (validFrom 1706745600000) lignes[0].debit: write \(literal) \(advice)")
        }
        // Negative amounts and plain zeros are fine.
        for fine in ["-12.50", "0.00", "-0.01"] {
            _ = try GoldenCase.parse(name: "c", dossier: try fixtureText("dossier-simple.json").replacingOccurrences(of: #""debit": 1000.00"#, with: #""debit": \#(fine)"#), subscription: nil, expected: [:])
        }
        // The same amount without an exponent is fine.
        _ = try GoldenCase.parse(name: "c", dossier: try fixtureText("dossier-simple.json"), subscription: nil, expected: [:])
    }

    @Test func aCaseExpectsFilesOrAFailure() throws {
        let dossier = try fixtureText("dossier-simple.json")
        let files = try GoldenCase.parse(name: "c", dossier: dossier, subscription: nil, expected: ["a.json": [1]])
        #expect(files.problems(with: .wrote(["a.json": [1]])).isEmpty)
        #expect(files.problems(with: .failed("boom")) == ["failed: boom (expected 1 file(s))"])

        let failing = try GoldenCase.parse(name: "c", dossier: dossier, subscription: nil, expected: [:], expectedFailure: "  folderName property 'x' is missing\n")
        #expect(failing.expectedFailure == "folderName property 'x' is missing")
        #expect(failing.problems(with: .failed("error: folderName property 'x' is missing in journal j")).isEmpty)
        #expect(failing.problems(with: .failed("folderName property 'y' is missing")) == [
            "failed with: folderName property 'y' is missing", "expected a failure containing: folderName property 'x' is missing",
        ])
        #expect(failing.problems(with: .wrote(["a.json": [1]])) == ["wrote 1 file(s) and succeeded; expected a failure containing: folderName property 'x' is missing"])

        #expect {
            _ = try GoldenCase.parse(name: "c", dossier: dossier, subscription: nil, expected: ["a.json": [1]], expectedFailure: "x")
        } throws: { "\($0)" == "expected-failure.txt: a case expects files (expected/) or a failure, not both" }
        #expect {
            _ = try GoldenCase.parse(name: "c", dossier: dossier, subscription: nil, expected: [:], expectedFailure: " \n")
        } throws: { "\($0)".hasPrefix("expected-failure.txt: is empty") }
    }

    @Test func aPlaceholderInExpectedIsNotAFile() throws {
        let golden = try GoldenCase.parse(name: "c", dossier: try fixtureText("dossier-simple.json"), subscription: nil, expected: [".gitkeep": []])
        #expect(golden.expected.isEmpty)
    }
}

/// `cae-init explain` on the hand-made history fixture: every period of every object gets its reason.
@Suite struct HistoryExplanationTests {
    static let t1 = "5e000000-0000-4000-8000-000000000001"
    static let t2 = "5e000000-0000-4000-8000-000000000002"
    static let t3 = "5e000000-0000-4000-8000-000000000003"

    func explain(_ id: String, history: Bool = true) throws -> HistoryExplanation {
        let fixture = try DossierFixture.parse(try fixtureText("dossier-history.json"))
        let pipeline = CaseSettings(initWithHistory: history).pipeline(for: fixture)
        return try #require(try HistoryExplanation.explain(fixture: fixture, objectId: id, pipeline: pipeline).first)
    }

    func reasons(_ id: String) throws -> [String] {
        try explain(id).periods.map { line in "\(line.selected.map { "v\($0 + 1)" } ?? "none") \(line.reason)" }
    }

    @Test func everyPeriodOfEveryObjectHasItsReason() throws {
        #expect(try reasons("1a8793c7-02a1-4e83-aa49-074d0021bf4a") == ["v2 validAt", "v3 currentVersion", "v3 currentVersion"])
        #expect(try reasons("a2000000-0000-4000-8000-000000000002") == Array(repeating: "none createdAfter(firstValidFrom: 1743465601000)", count: 3))
        #expect(try reasons("a2000000-0000-4000-8000-000000000003") == Array(repeating: "none deletedBefore(lastValidTo: 1700000000000)", count: 3))
        #expect(try reasons("a2000000-0000-4000-8000-000000000004") == ["v1 validAt", "v1 alreadyWritten(periodId: \"\(Self.t1)\")", "none deletedBefore(lastValidTo: 1740000000000)"])
        #expect(try reasons("c1000000-0000-4000-8000-000000000001") == [
            "none gap(previousValidTo: 1727000000000, nextValidFrom: 1730000000000)", "v2 validAt",
            "none gap(previousValidTo: 1736000000000, nextValidFrom: 1745000000000)",
        ])
        #expect(try reasons("c1000000-0000-4000-8000-000000000002") == Array(repeating: "v1 currentVersion", count: 3))
        #expect(try reasons("e1000000-0000-4000-8000-000000000001") == ["none createdAfter(firstValidFrom: 1730000000000)", "v1 currentVersion", "v1 currentVersion"])
        #expect(try reasons("e1000000-0000-4000-8000-000000000002") == ["v1 validAt", "v1 alreadyWritten(periodId: \"\(Self.t1)\")", "v2 currentVersion"])
    }

    @Test func theTextHasOneLinePerPeriodWithDateVersionAndReason() throws {
        let text = try explain("1a8793c7-02a1-4e83-aa49-074d0021bf4a").text
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines == [
            "journal 1a8793c7-02a1-4e83-aa49-074d0021bf4a: 3 version(s), with history",
            "  v1  [2023-11-14T22:13:20.000Z (1700000000000), 2024-10-01T00:00:00.000Z (1727740800000))",
            "  v2  [2024-10-01T00:00:00.000Z (1727740800000), 2025-01-01T00:00:00.000Z (1735689600000))",
            "  v3  [2025-01-01T00:00:00.000Z (1735689600000), current)",
            "  period \(Self.t1) \"Sept. 2024\" t=2024-10-01T00:00:00.000Z (1727740800000): v2: valid at t, written as history",
            "  period \(Self.t2) \"Déc. 2024\" t=2025-01-01T00:00:00.000Z (1735689600000): v3: current version, not written as history (the snapshot writes it)",
            "  period \(Self.t3) \"Mars 2025\" t=2025-04-01T00:00:00.000Z (1743465600000): v3: current version, not written as history (the snapshot writes it)",
            "  writes 7e9030b3-40e9-4726-8d8c-9bfbadc59844/journal/1a8793c7-02a1-4e83-aa49-074d0021bf4a_1727740800000.json (history)",
            "  writes 7e9030b3-40e9-4726-8d8c-9bfbadc59844/journal/1a8793c7-02a1-4e83-aa49-074d0021bf4a_1735689600000.json (snapshot)",
        ])
        let gap = try explain("c1000000-0000-4000-8000-000000000001").text
        #expect(gap.contains("t=2024-10-01T00:00:00.000Z (1727740800000): none: in a gap: no version valid at t"))
        let deleted = try explain("a2000000-0000-4000-8000-000000000004").text
        #expect(deleted.contains(": v1: valid at t, already written for another period (\(Self.t1))"))
        #expect(deleted.contains(": none: deleted before t (last version ended at 2025-02-19T21:20:00.000Z (1740000000000), exclusive)"))
        #expect(try explain("a2000000-0000-4000-8000-000000000002").text.contains(": none: created after t (first version from 2025-04-01T00:00:01.000Z (1743465601000))"))
    }

    @Test func filtersAreExplainedToo() throws {
        let fixture = try DossierFixture.parse(try fixtureText("dossier-history.json"))
        func text(_ filters: JSONObject) throws -> String {
            let pipeline = CaseSettings(initWithHistory: true, filters: filters).pipeline(for: fixture)
            return try #require(try HistoryExplanation.explain(fixture: fixture, objectId: "1a8793c7-02a1-4e83-aa49-074d0021bf4a", pipeline: pipeline).first).text
        }
        let od1 = try text(JSONObject([("code", "OD1")]))
        #expect(od1.contains(": v2: valid at t, written as history"))
        #expect(od1.contains(": v3: current version, not written as history (the filters drop its snapshot document too)"))
        let od3 = try text(JSONObject([("code", "OD3")]))
        #expect(od3.contains(": v2: valid at t, but the subscription's filters drop its document"))
        #expect(od3.contains(": v3: current version, not written as history (the snapshot writes it)"))
    }

    @Test func withoutHistoryPeriodsWriteNothing() throws {
        let explanation = try explain("a2000000-0000-4000-8000-000000000004", history: false)
        #expect(explanation.files.isEmpty)
        #expect(explanation.text.contains("without history"))
        #expect(explanation.text.contains("  writes nothing"))
    }

    /// The reasons agree with the files the pipeline writes, for every object of every case: a period's
    /// "valid at t, written as history" names exactly the history files.
    @Test(arguments: GoldenCaseTests.names)
    func reasonsAgreeWithThePipeline(name: String) throws {
        let golden = try loadCase(casesRoot.appendingPathComponent(name))
        guard golden.expectedFailure == nil else { return }
        let pipeline = golden.settings.pipeline(for: golden.fixture)
        for kind in ObjectKind.allCases {
            for id in Set((golden.fixture.versions[kind] ?? []).map(\.id)) {
                let explanation = try HistoryExplanation(fixture: golden.fixture, kind: kind, objectId: id, pipeline: pipeline)
                #expect(explanation.periods.count == golden.fixture.periods.count)
                let explained = explanation.periods.filter { $0.reason == .validAt && golden.settings.initWithHistory }
                    .map { explanation.versions[$0.selected!].relativeName }
                let historyFiles = explanation.files.filter { $0.role == .history }.map { String($0.name.split(separator: "/", maxSplits: 1)[1]) }
                #expect(explained.sorted() == historyFiles.sorted(), "\(name) \(kind) \(id)")
            }
        }
    }
}
