import CaeInitCore
@testable import CaeInitSinks
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Local Directory sink: unnamed files and batches")
struct UnnamedFileTests {
    @Test("The probe finds how to link an unnamed file on this machine's ext4 /tmp")
    func probeFindsLinking() throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let descriptor = try DirectoryDescriptor.opening(absolutePath: directory.path)
        defer { descriptor.release() }
        #expect(UnnamedFile.probe(in: descriptor) == .procSelfFD)
        // The probe leaves nothing behind.
        #expect(directory.entries().isEmpty)
    }

    @Test("Every way of linking writes a new name and replaces a taken one whole, leaving nothing in the work area", arguments: [
        UnnamedFileLinking.procSelfFD, .emptyPath, .unsupported,
    ])
    func everyLinkingWritesTheSameFiles(linking: UnnamedFileLinking) throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let root = try DirectoryDescriptor.opening(absolutePath: directory.path)
        defer { root.release() }
        let workArea = try WorkArea.claim(in: root)
        defer { workArea.release(from: root) }
        var foldersWritten: [String] = []
        var folders = FolderCache(root: root) { foldersWritten.append($0) }
        for (name, body) in [("e1/ecriture/a.json", "first"), ("e1/ecriture/b.json", "other"), ("e1/ecriture/a.json", "second"), ("top.json", "t")] {
            try LocalDirectorySink.writeObject(Array(body.utf8), components: name.split(separator: "/").map(String.init), folders: &folders, via: workArea, linking: linking)
        }
        #expect(directory.contents("e1/ecriture/a.json") == Array("second".utf8))
        #expect(directory.contents("e1/ecriture/b.json") == Array("other".utf8))
        #expect(directory.contents("top.json") == Array("t".utf8))
        // Each folder is reported once, before its first write.
        #expect(foldersWritten == ["e1/ecriture", ""])
        #expect(directory.entries(under: ".partial").filter { !$0.hasSuffix("/") && !$0.hasSuffix("/lock") }.isEmpty)
    }

    @Test("An unnamed file never replaces nor follows a link planted at the name", arguments: [UnnamedFileLinking.procSelfFD, .emptyPath])
    func plantedLinkAtTheName(linking: UnnamedFileLinking) throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.file("e1"), withIntermediateDirectories: true)
        let outside = directory.file("outside.json")
        try Data("untouched".utf8).write(to: URL(fileURLWithPath: outside))
        #expect(symlink(outside, directory.file("e1/a.json")) == 0)
        let root = try DirectoryDescriptor.opening(absolutePath: directory.path)
        defer { root.release() }
        let workArea = try WorkArea.claim(in: root)
        defer { workArea.release(from: root) }
        var folders = FolderCache(root: root) { _ in }
        #expect(throws: FileFailure.self) {
            try LocalDirectorySink.writeObject(Array("new".utf8), components: ["e1", "a.json"], folders: &folders, via: workArea, linking: linking)
        }
        #expect(directory.contents("outside.json") == Array("untouched".utf8))
        #expect(directory.entries(under: "e1") == ["a.json@"])
    }

    @Test("putBatch writes every object of the batch, and flush then syncs the folders it wrote into")
    func batchWritesAndRecordsFolders() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink()
        try await sink.prepare()
        let objects = (0..<150).map { SinkObject(name: "e\($0 % 3)/ecriture/\($0).json", body: Array("{\"n\":\($0)}".utf8)) }
        try await sink.putBatch(objects)
        #expect(sink.touchedDirectories.withLockedValue { $0 } == ["", "e0", "e0/ecriture", "e1", "e1/ecriture", "e2", "e2/ecriture"])
        try await sink.flush()
        #expect(sink.touchedDirectories.withLockedValue { $0 }.isEmpty)
        try await sink.shutdown()
        #expect(directory.files().count == 150)
        for object in objects { #expect(directory.contents(object.name) == object.body) }
    }

    @Test("A bad name in a batch fails it naming the object, after the objects before it were written")
    func badNameInBatch() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink()
        try await sink.prepare()
        let objects = [SinkObject(name: "e1/a.json", body: [1]), SinkObject(name: "e1/../b.json", body: [2]), SinkObject(name: "e1/c.json", body: [3])]
        await #expect {
            try await sink.putBatch(objects)
        } throws: { error in
            (error as? SinkError)?.objectName == "e1/../b.json"
        }
        try await sink.shutdown()
        #expect(directory.files() == ["e1/a.json"])
    }

    @Test("The sink hands the initialiser batches of 64 objects, two per writer thread in flight; other sinks one object per request")
    func batching() throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        #expect(directory.sink(writerThreads: 3).batching == SinkBatching(objectsPerBatch: 64, batchesInFlight: 6))
        let s3 = try SecretEchoTests.s3Sink(port: 9)
        #expect(s3.batching == SinkBatching(objectsPerBatch: 1, batchesInFlight: nil))
    }
}
