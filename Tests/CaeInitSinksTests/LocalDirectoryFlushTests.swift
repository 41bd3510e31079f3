import CaeInitCore
@testable import CaeInitSinks
import CaeInitTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 9: the Local Directory sink writes without a per-file fsync and makes its files durable together in
/// `flush` (syncfs, then an fsync of each directory renamed into).
@Suite("Local Directory sink: batch durability")
struct LocalDirectoryFlushTests {
    @Test("flush syncs every directory renamed into (and their parents), then forgets them")
    func flushSyncsTheDirectoriesWrittenInto() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink("out")
        try await sink.prepare()
        try await sink.put("e1/journal/j_1.json", body: Array("{}".utf8))
        try await sink.put("e1/compte/c_1.json", body: Array("{}".utf8))
        #expect(sink.touchedDirectories.withLockedValue { $0 } == ["", "e1", "e1/journal", "e1/compte"])
        try await sink.flush()
        #expect(sink.touchedDirectories.withLockedValue { $0 }.isEmpty)
        // A flush with nothing new written is a plain syncfs.
        try await sink.flush()
        try await sink.shutdown()
        #expect(directory.files(under: "out").sorted() == ["e1/compte/c_1.json", "e1/journal/j_1.json"])
    }

    @Test("flush fails, naming the link, when a directory written into was replaced by a symbolic link")
    func flushFailsOnALinkedDirectory() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink("out")
        try await sink.prepare()
        try await sink.put("e1/journal/j_1.json", body: Array("{}".utf8))
        try FileManager.default.moveItem(atPath: directory.file("out/e1/journal"), toPath: directory.file("elsewhere"))
        #expect(symlink(directory.file("elsewhere"), directory.file("out/e1/journal")) == 0)
        let error = try await #require(throws: SinkError.self) { try await sink.flush() }
        #expect(error.message.contains("e1/journal is a symbolic link"), "\(error)")
        #expect(!error.isRetryable)
        // Not synced, so still to be synced at the next flush.
        #expect(sink.touchedDirectories.withLockedValue { $0 }.contains("e1/journal"))
        try await sink.shutdown()
    }

    @Test("flush before prepare is refused")
    func flushBeforePrepare() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink("out")
        let error = try await #require(throws: SinkError.self) { try await sink.flush() }
        #expect(error.message.contains("not prepared"), "\(error)")
        try await sink.shutdown()
    }

    @Test("with an audit log, the flush is a line after the files it made durable")
    func flushIsAudited() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let local = LocalDirectorySinkConfiguration(path: directory.file("out"))
        let sink = LocalDirectorySink(configuration: SinkConfiguration(destination: .localDirectory(local)), local: local, auditLogPath: directory.file("audit.log"))
        try await sink.prepare()
        try await sink.put("e1/journal/j_1.json", body: Array("{}".utf8))
        try await sink.flush()
        try await sink.put("_manifests/0123456789abcdef01234567/e1.json", body: Array("{}".utf8))
        try await sink.flush()
        try await sink.shutdown()
        let lines = String(decoding: directory.contents("audit.log") ?? [], as: UTF8.self).split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
        #expect(lines == ["e1/journal/j_1.json", "(flush)", "_manifests/0123456789abcdef01234567/e1.json", "(flush)"])
    }
}
