import CaeInitCore
import CaeInitTestSupport
import Foundation

/// The shared signing vectors: `<repository>/../shared/vectors`, the repository being three levels above this
/// file (`Tests/CaeInitSinksTests/Support/`). A missing directory fails the test: CI must have `shared/` beside
/// the clone.
enum Vectors {
    static var directory: URL {
        get throws {
            let root = URL(fileURLWithPath: #filePath)
                .deletingLastPathComponent() // Support
                .deletingLastPathComponent() // CaeInitSinksTests
                .deletingLastPathComponent() // Tests
                .deletingLastPathComponent() // repository root
            let vectors = root.deletingLastPathComponent().appendingPathComponent("shared/vectors").standardizedFileURL
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: vectors.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw TestFailure("signing vectors not found at \(vectors.path): shared/ must sit beside the repository")
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
