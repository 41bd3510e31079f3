import CaeInitCore
import Foundation

/// The repository's root, found from this file's path (Tests/CaeInitCoreTests/Support.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func fixtureText(_ name: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("Fixtures/\(name)"), encoding: .utf8)
}

/// The golden cases' folder, `Fixtures/cases`.
let casesRoot = repositoryRoot.appendingPathComponent("Fixtures/cases")

/// Every case folder's name, sorted: each sub-folder of `Fixtures/cases` is a case.
func caseNames() -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: casesRoot.path)) ?? []
    return entries.filter { !$0.hasPrefix(".") }.sorted()
}

/// Every regular file below `root`, by path relative to it, with its bytes.
func readTree(_ root: URL) -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return files }
    while let relative = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let path = root.appendingPathComponent(relative).path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
           let data = FileManager.default.contents(atPath: path) {
            files[relative] = Array(data)
        }
    }
    return files
}

/// Reads a case folder (dossier.json, subscription.json if any, expected/ or expected-failure.txt).
func loadCase(_ folder: URL) throws -> GoldenCase {
    func text(_ name: String) throws -> String? {
        let file = folder.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: file.path) ? try String(contentsOf: file, encoding: .utf8) : nil
    }
    let expected = folder.appendingPathComponent(GoldenCase.expectedFolder)
    let failure = try text(GoldenCase.expectedFailureFile)
    guard FileManager.default.fileExists(atPath: expected.path) || failure != nil else {
        throw CaseFolderError("\(folder.lastPathComponent): no expected/ folder nor expected-failure.txt")
    }
    return try GoldenCase.parse(
        name: folder.lastPathComponent,
        dossier: try String(contentsOf: folder.appendingPathComponent(GoldenCase.dossierFile), encoding: .utf8),
        subscription: try text(GoldenCase.subscriptionFile),
        expected: readTree(expected),
        expectedFailure: failure
    )
}

struct CaseFolderError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func version(_ id: String, _ validFrom: Int64, _ validTo: Int64, kind: ObjectKind = .journal) -> ObjectVersion {
    ObjectVersion(kind: kind, id: id, validFrom: validFrom, validTo: validTo, fields: Array(repeating: .null, count: kind.fields.count))
}

func version(_ validFrom: Int64, _ validTo: Int64) -> ObjectVersion {
    version("00000000-0000-4000-8000-000000000001", validFrom, validTo)
}
