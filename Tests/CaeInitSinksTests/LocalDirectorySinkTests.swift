import CaeInitCore
@testable import CaeInitSinks
import CaeInitTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Local Directory sink")
struct LocalDirectorySinkTests {
    static let documents: [(String, [UInt8])] = [
        ("e1/journal/j_1.json", Array(#"{"a":1}"#.utf8)),
        ("e1/compte/c_2.json", Array(#"{"b":"é"}"#.utf8)),
        ("e2/ecriture/x_3.json", []),
        ("_manifests/0123456789abcdef01234567/e1.json", Array(#"{"m":true}"#.utf8)),
    ]

    @Test("Writes each object in place; while alive only its locked work area is in .partial; after shutdown nothing but the objects")
    func writesAndTidiesUp() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink("out/sub")
        try await sink.prepare()
        for (name, body) in Self.documents {
            try await sink.put(name, body: body)
        }
        let partial = directory.entries(under: "out/sub/.partial")
        #expect(partial.count == 2 && partial[0].hasPrefix("\(getpid())-") && partial[1].hasSuffix("/lock"), "\(partial)")
        try await sink.shutdown()
        #expect(directory.files(under: "out/sub").sorted() == Self.documents.map(\.0).sorted())
        #expect(!directory.exists("out/sub/.partial"))
        for (name, body) in Self.documents {
            #expect(directory.contents("out/sub/\(name)") == body, "\(name)")
        }
    }

    @Test("A second write of an object replaces it whole")
    func overwrites() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink()
        try await sink.prepare()
        try await sink.put("e/journal/j_1.json", body: Array("first".utf8))
        try await sink.put("e/journal/j_1.json", body: Array("second".utf8))
        try await sink.shutdown()
        #expect(directory.contents("e/journal/j_1.json") == Array("second".utf8))
        #expect(directory.files() == ["e/journal/j_1.json"])
    }

    @Test("put before prepare is refused")
    func putBeforePrepare() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink()
        let error = try await #require(throws: SinkError.self) { try await sink.put("e/journal/j_1.json", body: [1]) }
        #expect(error.message.hasSuffix("not prepared (put before prepare or after shutdown)"))
        #expect(directory.entries().isEmpty)
        try await sink.shutdown()
    }

    @Test("Object names that are not plain paths are refused, nothing written", arguments: [
        "../x.json", "a/../../x.json", "a//b.json", "./a.json", "/a.json", "a/", ".partial/x.json", "a/b\u{0}c.json", "",
    ])
    func invalidObjectNames(name: String) async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink("out")
        try await sink.prepare()
        let error = try await #require(throws: SinkError.self) { try await sink.put(name, body: [1]) }
        #expect(error.message == "not a valid object name for a directory")
        #expect(!error.isRetryable)
        try await sink.shutdown()
        #expect(directory.entries() == ["out/"])
    }

    @Test("Names beside the refused ones are written", arguments: ["..x/a.json", "a/.partial/b.json", "_partial/c.json", "a.b/c..json"])
    func plainNames(name: String) async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink()
        try await sink.prepare()
        try await sink.put(name, body: [1])
        try await sink.shutdown()
        #expect(directory.files() == [name])
    }

    @Test("A link planted as a folder, a nested folder or the object itself is never followed", arguments: [
        ("evil", "evil/journal/x_1.json", "evil"),
        ("ok/journal", "ok/journal/x_1.json", "ok/journal"),
        ("f/journal/x_1.json", "f/journal/x_1.json", "f/journal/x_1.json"),
    ])
    func plantedLinks(link: String, object: String, named: String) async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        try directory.mkdir("outside")
        try directory.write("outside/x_1.json", "keep")
        try directory.symlink("out/\(link)", to: link.hasSuffix(".json") ? directory.file("outside/x_1.json") : directory.file("outside"))
        let sink = directory.sink("out")
        try await sink.prepare()
        let error = try await #require(throws: SinkError.self) { try await sink.put(object, body: Array("hostile".utf8)) }
        #expect(error.message.contains("\(named) is a symbolic link; the sink does not follow links inside its directory"), "\(error)")
        #expect(!error.isRetryable)
        try await sink.shutdown()
        #expect(directory.entries(under: "outside") == ["x_1.json"])
        #expect(directory.contents("outside/x_1.json") == Array("keep".utf8))
        #expect(directory.files(under: "out").isEmpty)
        #expect(directory.entries(under: "out").contains("\(link)@"))
    }

    @Test("A link planted as .partial fails prepare and is not followed")
    func plantedPartialLink() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        try directory.mkdir("outside")
        try directory.symlink("out/.partial", to: directory.file("outside"))
        let sink = directory.sink("out")
        let error = try await #require(throws: SinkError.self) { try await sink.prepare() }
        #expect(error.message.contains(".partial is a symbolic link"), "\(error)")
        try await sink.shutdown()
        #expect(directory.entries(under: "outside").isEmpty)
    }

    @Test("prepare removes the work areas of dead sinks (lock free, or no lock file), never a live sink's")
    func sweepsDeadWorkAreas() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let live = directory.sink()
        try await live.prepare()
        let liveArea = try #require(directory.entries(under: ".partial").first)
        try directory.write(".partial/1-dead/lock", "")
        try directory.write(".partial/1-dead/0123.tmp", "half a documen")
        try directory.write(".partial/2-nolock/4567.tmp", "half")
        try directory.symlink(".partial/3-link", to: directory.file("elsewhere"))
        try await live.put("e/journal/j_1.json", body: [1])

        let next = directory.sink()
        try await next.prepare()
        let areas = directory.entries(under: ".partial").filter { $0.hasSuffix("/") && !$0.dropLast().contains("/") }
        #expect(areas.count == 2 && areas.contains(liveArea), "\(areas)")
        #expect(!directory.exists(".partial/1-dead") && !directory.exists(".partial/2-nolock") && !directory.exists(".partial/3-link"))
        try await next.put("e/journal/j_2.json", body: [2])
        try await next.shutdown()
        // The live sink still works, and its area is still locked: a third sink leaves it alone.
        #expect(directory.entries(under: ".partial") == [liveArea, liveArea + "lock"])
        let third = directory.sink()
        try await third.prepare()
        try await third.shutdown()
        #expect(directory.entries(under: ".partial") == [liveArea, liveArea + "lock"])
        try await live.put("e/journal/j_3.json", body: [3])
        try await live.shutdown()
        #expect(directory.entries() == ["e/", "e/journal/", "e/journal/j_1.json", "e/journal/j_2.json", "e/journal/j_3.json"])
    }

    @Test("Temporary files of the layout before work areas are removed once an hour old, not before")
    func strayTemporaryFiles() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        try directory.write(".partial/100-old.tmp", "x", ageSeconds: WorkArea.strayFileAge + 60)
        try directory.write(".partial/101-recent.tmp", "x", ageSeconds: WorkArea.strayFileAge - 60)
        try directory.write(".partial/notes.txt", "x", ageSeconds: WorkArea.strayFileAge + 60)
        let sink = directory.sink()
        try await sink.prepare()
        try await sink.shutdown()
        #expect(directory.entries(under: ".partial") == ["101-recent.tmp", "notes.txt"])
    }

    @Test("The writes run on the sink's own bounded thread pool, sized by writerThreads (default 4)")
    func threadPoolSize() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        #expect(directory.sink().threadPool.numberOfThreads == 4)
        #expect(directory.sink(writerThreads: 2).threadPool.numberOfThreads == 2)
        #expect(directory.sink(writerThreads: 0).threadPool.numberOfThreads == 1)
        #expect(SinkFactory(httpClient: .shared, logger: .init(label: "test"), localWriterThreads: 3).localWriterThreads == 3)
        // One thread serves many concurrent puts.
        let sink = directory.sink(writerThreads: 1)
        try await sink.prepare()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<32 {
                group.addTask { try await sink.put("e/journal/j_\(n).json", body: Array("\(n)".utf8)) }
            }
            try await group.waitForAll()
        }
        try await sink.shutdown()
        #expect(directory.files().count == 32)
        let error = try await #require(throws: SinkError.self) { try await sink.put("e/journal/late.json", body: [1]) }
        #expect(error.message.hasSuffix("not prepared (put before prepare or after shutdown)"))
    }

    @Test("In a cancelled task put is refused as a cancellation, and shutdown still removes the work area")
    func cancelledTask() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let sink = directory.sink()
        try await sink.prepare()
        let task = Task { () async throws(SinkError) -> SinkError? in
            while !Task.isCancelled { await Task.yield() }
            var putError: SinkError?
            do throws(SinkError) { try await sink.put("e/journal/j_1.json", body: [1]) } catch { putError = error }
            try await sink.shutdown()
            return putError
        }
        task.cancel()
        let putError = try await task.value
        #expect(putError?.isCancellation == true)
        #expect(putError?.isRetryable == true)
        #expect(directory.entries().isEmpty)
    }

    @Test("A directory that cannot be made fails prepare, not retryable")
    func unwritableDirectory() async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        try directory.write("file", "not a directory")
        let sink = directory.sink("file/out")
        let error = try await #require(throws: SinkError.self) { try await sink.prepare() }
        #expect(error.message.contains("cannot create the directory"), "\(error)")
        #expect(!error.isRetryable)
        try await sink.shutdown()
    }
}

/// Workers SIGKILLed mid-write (the `cae-init-sink-writer` helper, eight writes in flight, each fsynced), one
/// after the other: the next sink prepared and shut down on the directory leaves exactly the documents.
@Suite("Local Directory sink: orphans of killed writers", .serialized)
struct LocalDirectoryOrphanTests {
    static let bodySize = 64 * 1024

    /// Temporary files under `.partial/`.
    static func temporaryFiles(_ directory: SinkDirectoryFixture) -> [String] {
        directory.files(under: ".partial").filter { $0.hasSuffix(".tmp") }
    }

    /// Named: every write through a temporary file in the work area, which kills leave behind. Unnamed (the
    /// default): the file has no name until it is whole, so a kill leaves nothing to sweep but the rare
    /// replacement caught between its two steps.
    @Test("After SIGKILLs in the middle of writes, prepare + shutdown leave only whole documents", arguments: [true, false])
    func killedWriters(named: Bool) async throws {
        let directory = try SinkDirectoryFixture()
        defer { directory.remove() }
        let executable = try SinkWriter.executable()
        var kills = 0
        var orphans = 0
        // Named: until several kills left temporary files behind (each kill nearly always does), at most 12 kills.
        while kills < 12 && (!named || orphans < 3 || kills < 4) {
            let writer = try ChildProcess(executable: executable, arguments: [directory.path, String(Self.bodySize)] + (named ? ["named"] : []))
            let deadline = ContinuousClock.now + .seconds(30)
            while !writer.standardOutput.contains("ready") && ContinuousClock.now < deadline {
                if await writer.waitForExit(within: 0.01) != nil { break }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...120)))
            writer.signal(SIGKILL)
            let status = await writer.waitForExit()
            #expect(status == 128 + SIGKILL, "writer exited with \(status): \(writer.standardError)")
            kills += 1
            orphans += Self.temporaryFiles(directory).count
        }
        if named { #expect(orphans > 0, "no kill left a temporary file: the test did not test anything") }
        let documentsBefore = directory.files(under: "d")

        let sink = directory.sink()
        try await sink.prepare()
        try await sink.shutdown()
        let files = directory.files()
        #expect(!files.isEmpty)
        #expect(files == documentsBefore.map { "d/\($0)" })
        #expect(!directory.exists(".partial"))
        for file in files {
            #expect(file.hasPrefix("d/journal/") && file.hasSuffix(".json"), "\(file)")
            #expect(directory.contents(file)?.count == Self.bodySize, "\(file) is not whole")
        }
    }
}
