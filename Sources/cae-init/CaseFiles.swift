import CaeInitCore
import Foundation

/// The file-system side of golden cases for the CLI: reading a case folder, reading and writing file trees.
enum CaseFiles {
    /// Every regular file below `root`, by path relative to it, with its bytes.
    static func readTree(_ root: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: root) else {
            throw CLIError("\(root): cannot read the folder")
        }
        while let relative = enumerator.nextObject() as? String {
            let path = "\(root)/\(relative)"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot read the file") }
            files[relative] = Array(data)
        }
        return files
    }

    /// Writes `files` under `root`, which must be absent or empty: stale files would make a case wrong.
    static func writeTree(_ files: [DocumentFile], to root: String) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: root, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CLIError("--out \(root): is a file, not a folder") }
            let entries = (try? manager.contentsOfDirectory(atPath: root)) ?? []
            guard entries.isEmpty || entries == [GoldenCase.placeholderFile] else {
                throw CLIError("--out \(root): the folder is not empty (remove it first, so that no stale file stays)")
            }
        }
        for file in files {
            let url = URL(fileURLWithPath: root).appendingPathComponent(file.name)
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard manager.createFile(atPath: url.path, contents: Data(file.body)) else {
                throw CLIError("\(url.path): cannot write the file")
            }
        }
    }

    /// The case folders named by `paths`: each a case (it holds `dossier.json`), or a folder of cases
    /// (`Fixtures/cases`), whose sub-folders are all taken as cases, sorted by name.
    static func caseFolders(_ paths: [String]) throws -> [String] {
        var folders: [String] = []
        for path in paths {
            let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
            if FileManager.default.fileExists(atPath: "\(trimmed)/\(GoldenCase.dossierFile)") {
                folders.append(trimmed)
                continue
            }
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: trimmed) else {
                throw CLIError("\(path): no such folder")
            }
            let subfolders = entries.sorted().filter { entry in
                var isDirectory: ObjCBool = false
                return !entry.hasPrefix(".") && FileManager.default.fileExists(atPath: "\(trimmed)/\(entry)", isDirectory: &isDirectory) && isDirectory.boolValue
            }
            guard !subfolders.isEmpty else { throw CLIError("\(path): neither a case (no \(GoldenCase.dossierFile)) nor a folder of cases") }
            folders += subfolders.map { "\(trimmed)/\($0)" }
        }
        return folders
    }

    /// Reads and parses one case folder; errors name the file and field.
    static func load(_ folder: String) throws -> GoldenCase {
        let name = URL(fileURLWithPath: folder).lastPathComponent
        let dossierPath = "\(folder)/\(GoldenCase.dossierFile)"
        guard FileManager.default.fileExists(atPath: dossierPath) else { throw CLIError("\(folder): no \(GoldenCase.dossierFile)") }
        let subscriptionPath = "\(folder)/\(GoldenCase.subscriptionFile)"
        let subscription = FileManager.default.fileExists(atPath: subscriptionPath) ? try readFile(subscriptionPath) : nil
        let expectedPath = "\(folder)/\(GoldenCase.expectedFolder)"
        let failurePath = "\(folder)/\(GoldenCase.expectedFailureFile)"
        let expectedFailure = FileManager.default.fileExists(atPath: failurePath) ? try readFile(failurePath) : nil
        var isDirectory: ObjCBool = false
        let hasExpected = FileManager.default.fileExists(atPath: expectedPath, isDirectory: &isDirectory) && isDirectory.boolValue
        guard hasExpected || expectedFailure != nil else {
            throw CLIError("\(folder): no \(GoldenCase.expectedFolder)/ folder nor \(GoldenCase.expectedFailureFile) (a case that writes nothing holds \(GoldenCase.expectedFolder)/\(GoldenCase.placeholderFile))")
        }
        do {
            return try GoldenCase.parse(
                name: name, dossier: try readFile(dossierPath), subscription: subscription,
                expected: hasExpected ? try readTree(expectedPath) : [:], expectedFailure: expectedFailure
            )
        } catch let error as FieldError {
            throw CLIError("\(folder)/\(error)")
        }
    }
}
