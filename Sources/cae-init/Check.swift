import ArgumentParser
import CaeInitCore

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs golden cases through the pure core (the path `render` takes) and prints, per case, ok or each difference from its expected/ (missing, extra, differing fields with both values); exit 1 on any. The real path (PostgreSQL, worker, Local Directory sink) is run by the test suite.",
        discussion: "A case is a folder holding dossier.json, an optional subscription.json (initWithHistory, filters, sink.options.folderName) and expected/, or expected-failure.txt (text the failure message must contain) for a dossier whose initialisation must fail. A folder of cases (e.g. Fixtures/cases) checks each of its sub-folders."
    )

    @Argument(help: "Case folders, or folders of cases.") var cases: [String]

    func run() async throws {
        var failures = 0
        var checked = 0
        try await reportingErrors {
            for folder in try CaseFiles.caseFolders(cases) {
                checked += 1
                let name = folder
                do {
                    let golden = try CaseFiles.load(folder)
                    let problems = golden.problems(with: golden.renderOutcome())
                    if problems.isEmpty {
                        print("ok    \(name) (\(golden.expectedFailure == nil ? "\(golden.expected.count) file(s)" : "fails as expected"))")
                    } else {
                        failures += 1
                        print("FAIL  \(name): \(problems.count) difference(s)")
                        for line in problems { print("      \(line)") }
                    }
                } catch {
                    failures += 1
                    print("FAIL  \(name): \(error)")
                }
            }
        }
        print("checked \(checked) case(s): \(checked - failures) ok, \(failures) failed")
        if failures > 0 { throw ExitCode(1) }
    }
}
