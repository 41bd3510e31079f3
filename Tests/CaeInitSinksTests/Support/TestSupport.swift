import CaeInitCore
import CaeInitTestSupport
import Foundation

/// The signing vectors, carried in the repository as test data: `Tests/CaeInitSinksTests/Vectors/` (their
/// provenance is in the README there). Located from this file (`Tests/CaeInitSinksTests/Support/`), so a clone
/// needs nothing beside it; the directory is excluded from the target's sources in Package.swift.
enum Vectors {
    static var directory: URL {
        get throws {
            let vectors = URL(fileURLWithPath: #filePath)
                .deletingLastPathComponent() // Support
                .deletingLastPathComponent() // CaeInitSinksTests
                .appendingPathComponent("Vectors")
                .standardizedFileURL
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: vectors.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw TestFailure("signing vectors not found at \(vectors.path)")
            }
            return vectors
        }
    }

    static func text(_ relativePath: String) throws -> String {
        let url = try directory.appendingPathComponent(relativePath)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TestFailure("missing vector file \(url.path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func json(_ relativePath: String) throws -> JSONValue {
        try JSONValue.parse(try text(relativePath))
    }
}
