import CaeInitCore
@testable import CaeInitSinks
import CaeInitTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway directory for the Local Directory sink tests, with what is needed to look inside it without
/// following links.
struct SinkDirectoryFixture {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "cae-init-sinks-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ relative: String) -> String { "\(path)/\(relative)" }

    /// A Local Directory sink on `sub` (the fixture itself by default).
    func sink(_ sub: String? = nil, writerThreads: Int = LocalDirectorySink.defaultWriterThreads, retry: RetryPolicy = .default) -> LocalDirectorySink {
        let local = LocalDirectorySinkConfiguration(path: sub.map(file) ?? path)
        return LocalDirectorySink(configuration: SinkConfiguration(destination: .localDirectory(local), retryPolicy: retry), local: local, writerThreads: writerThreads)
    }

    /// Every entry under `relative` (not following links), as paths relative to it; directories end with `/`,
    /// links with `@`.
    func entries(under relative: String = "") -> [String] {
        let root = relative.isEmpty ? path : file(relative)
        var result: [String] = []
        func walk(_ directory: String, _ prefix: String) {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                var info = stat()
                guard lstat("\(directory)/\(name)", &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    result.append(prefix + name + "/")
                    walk("\(directory)/\(name)", prefix + name + "/")
                case S_IFLNK: result.append(prefix + name + "@")
                default: result.append(prefix + name)
                }
            }
        }
        walk(root, "")
        return result
    }

    /// The regular files under `relative`, relative to it.
    func files(under relative: String = "") -> [String] {
        entries(under: relative).filter { !$0.hasSuffix("/") && !$0.hasSuffix("@") }
    }

    func contents(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: file(relative)).map(Array.init)
    }

    func exists(_ relative: String) -> Bool {
        var info = stat()
        return lstat(file(relative), &info) == 0
    }

    func write(_ relative: String, _ text: String, ageSeconds: Int = 0) throws {
        let target = file(relative)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: target, contents: Data(text.utf8)) else { throw TestFailure("cannot write \(target)") }
        if ageSeconds > 0 {
            let when = Date().addingTimeInterval(-Double(ageSeconds))
            try FileManager.default.setAttributes([.modificationDate: when], ofItemAtPath: target)
        }
    }

    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: file(relative), withIntermediateDirectories: true)
    }

    func symlink(_ relative: String, to destination: String) throws {
        try FileManager.default.createDirectory(atPath: (file(relative) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: file(relative), withDestinationPath: destination)
    }
}

/// The test-only `cae-init-sink-writer` executable, built beside the test bundle by `swift build`.
enum SinkWriter {
    static func executable() throws -> String {
        var directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("cae-init-sink-writer").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestFailure("cae-init-sink-writer not built beside the tests: run `swift build` before `swift test` (scripts/test.sh does)")
    }
}
