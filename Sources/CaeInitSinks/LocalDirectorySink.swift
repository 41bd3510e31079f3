import CaeInitCore
import NIOConcurrencyHelpers
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `Local Directory` sink: each object is written to an unnamed file (`O_TMPFILE`) in its folder, then linked
/// under its name, so a reader sees a file whole or not at all and a killed worker leaves nothing half written.
/// An object whose name is taken (a re-initialisation), or a file system without unnamed files, goes through a
/// temporary file in the sink's own work area under `<path>/.partial/` (see `WorkArea`), renamed over the name.
/// Files are not fsynced one by one (that was most of a run's time): `flush` makes them durable together, one
/// `syncfs` of the sink's file system plus an `fsync` of each directory written into. What a killed worker was
/// writing in its work area is removed by the next sink prepared on the directory, and a sink that shuts down
/// removes its work area and, when it was the last, `.partial`: the directory then holds the documents and the
/// manifests only.
///
/// Paths inside the directory are walked descriptor by descriptor without following links, so a link planted
/// there fails the write with a clear error instead of leading it elsewhere. The blocking work runs on the sink's
/// own bounded thread pool, started by `prepare` and stopped by `shutdown` (which must follow a `prepare`).
public struct LocalDirectorySink: Sink {
    /// Threads writing files at once, per sink, unless told otherwise.
    public static let defaultWriterThreads = 4
    /// Objects written per hand-over to a writer thread: one wake-up for many small files.
    public static let objectsPerBatch = 64

    public let configuration: SinkConfiguration
    public let root: String
    /// When set, one line per file written (`<ns since epoch> <pid> <object name>`) is appended there: an audit
    /// trail of who wrote what when, kept by the sink rather than the worker; and `<ns> <pid> (flush)` per `flush`.
    public let auditLogPath: String?
    /// False: every object goes through a named temporary file in the work area, as on a file system without
    /// unnamed files (the kill tests use it to reach that path).
    public let unnamedFiles: Bool
    let threadPool: NIOThreadPool
    /// The threads of `threadPool`.
    let threadCount: Int
    let state = NIOLockedValueBox(State())
    /// The directories (relative paths, `""` for the sink directory) that got new entries since the last `flush`:
    /// those written into and their parents (made on the way).
    let touchedDirectories = NIOLockedValueBox(Set<String>())

    struct State {
        /// The thread pool was started (it starts once).
        var started = false
        /// From `prepare` to `shutdown`.
        var opened: Opened?
    }

    /// The sink directory, this sink's work area in it, and how unnamed files get their names there.
    struct Opened: Sendable {
        let root: DirectoryDescriptor
        let workArea: WorkArea
        let linking: UnnamedFileLinking
    }

    /// Where a file replacing a taken name (or any file, without unnamed files) waits before being renamed into place
    /// (same file system, so the rename is atomic).
    public static let partialDirectory = ObjectNaming.temporaryFolder

    /// - Parameter writerThreads: the size of the thread pool doing the blocking writes (at least 1).
    public init(
        configuration: SinkConfiguration, local: LocalDirectorySinkConfiguration,
        writerThreads: Int = defaultWriterThreads, auditLogPath: String? = nil, unnamedFiles: Bool = true
    ) {
        self.unnamedFiles = unnamedFiles
        self.configuration = configuration
        self.root = local.path.hasSuffix("/") && local.path.count > 1 ? String(local.path.dropLast()) : local.path
        self.auditLogPath = auditLogPath
        self.threadCount = max(1, writerThreads)
        self.threadPool = NIOThreadPool(numberOfThreads: threadCount)
    }

    private func error(_ failure: FileFailure, object: String? = nil) -> SinkError {
        SinkError(sinkType: SinkConfiguration.localDirectoryType, objectName: object, message: "\(root): \(failure)", isRetryable: failure.isRetryable)
    }

    /// Makes the directory when missing, removes what dead sinks left in `.partial/`, and claims this sink's work
    /// area.
    public func prepare() async throws(SinkError) {
        let alreadyStarted = state.withLockedValue { state in
            defer { state.started = true }
            return state.started
        }
        if alreadyStarted {
            guard state.withLockedValue({ $0.opened == nil }) else { return }
        } else {
            threadPool.start()
        }
        let root = self.root
        let unnamedFiles = self.unnamedFiles
        let opened = try await offloaded { () throws(FileFailure) -> Opened in
            do throws(FileFailure) {
                try Self.makeDirectories(root)
            } catch {
                throw FileFailure(message: "cannot create the directory: \(error)", errno: error.errno)
            }
            let directory = try DirectoryDescriptor.opening(absolutePath: root)
            do throws(FileFailure) {
                let workArea = try WorkArea.claim(in: directory)
                return Opened(root: directory, workArea: workArea, linking: unnamedFiles ? UnnamedFile.probe(in: workArea.directory) : .unsupported)
            } catch {
                directory.release()
                throw error
            }
        }
        state.withLockedValue { $0.opened = opened }
    }

    public func put(_ objectName: String, body: [UInt8]) async throws(SinkError) {
        let opened = try openedForWriting(objectName)
        let components = try Self.components(of: objectName)
        let executor = RetryExecutor(policy: configuration.retryPolicy, sinkType: configuration.typeName)
        try await executor.run { () async throws(SinkError) in
            try await offloaded(object: objectName) { () throws(FileFailure) in
                var folders = self.folderCache(opened)
                try self.writeOne(body, named: objectName, components: components, opened: opened, folders: &folders)
            }
        }
    }

    /// Writes the batch on one writer thread, its folders opened once. From the first object that fails on, the
    /// objects go through `put` one by one, each with the retry policy.
    public func putBatch(_ objects: [SinkObject]) async throws(SinkError) {
        guard let first = objects.first else { return }
        let opened = try openedForWriting(first.name)
        let written = try await offloaded(object: first.name) { () -> Int in
            var folders = self.folderCache(opened)
            for (index, object) in objects.enumerated() {
                do throws(FileFailure) {
                    guard let components = try? Self.components(of: object.name) else { return index }
                    try self.writeOne(object.body, named: object.name, components: components, opened: opened, folders: &folders)
                } catch {
                    return index
                }
            }
            return objects.count
        }
        for object in objects[written...] { try await put(object.name, body: object.body) }
    }

    /// A batch per writer thread and one more each, ready for when a thread is done.
    public var batching: SinkBatching {
        SinkBatching(objectsPerBatch: Self.objectsPerBatch, batchesInFlight: 2 * threadCount)
    }

    private func openedForWriting(_ objectName: String) throws(SinkError) -> Opened {
        guard let opened = state.withLockedValue({ $0.opened }) else {
            throw SinkError(sinkType: SinkConfiguration.localDirectoryType, objectName: objectName, message: "\(root): not prepared (put before prepare or after shutdown)", isRetryable: false)
        }
        return opened
    }

    /// Folders for one call on a writer thread; each folder it opens is recorded, with its parents, for `flush`
    /// (before the write: a rename that half-succeeds still gets its directory synced).
    private func folderCache(_ opened: Opened) -> FolderCache {
        let touched = touchedDirectories
        return FolderCache(root: opened.root) { path in
            touched.withLockedValue { set in
                set.insert("")
                var end = path.startIndex
                while end < path.endIndex {
                    end = path[path.index(after: end)...].firstIndex(of: "/") ?? path.endIndex
                    set.insert(String(path[..<end]))
                }
            }
        }
    }

    /// Writes one object (on a writer thread), with the audit line when asked.
    private func writeOne(
        _ body: [UInt8], named objectName: String, components: [String], opened: Opened, folders: inout FolderCache
    ) throws(FileFailure) {
        try Self.writeObject(body, components: components, folders: &folders, via: opened.workArea, linking: opened.linking)
        if let auditLogPath {
            Self.appendLine(path: auditLogPath, line: "\(Self.nanosecondsSinceEpoch()) \(getpid()) \(objectName)\n")
        }
    }

    /// Makes every file written so far durable: `syncfs` of the sink directory's file system, then an `fsync` of
    /// each directory renamed into since the last flush (deepest first), so that the names are on disk too. With an
    /// audit log, a `(flush)` line marks it (object names always hold a `/`).
    public func flush() async throws(SinkError) {
        guard let opened = state.withLockedValue({ $0.opened }) else {
            throw SinkError(sinkType: SinkConfiguration.localDirectoryType, objectName: nil, message: "\(root): not prepared (flush before prepare or after shutdown)", isRetryable: false)
        }
        let touched = touchedDirectories
        let auditLogPath = self.auditLogPath
        try await offloaded { () throws(FileFailure) in
            let directories = touched.withLockedValue { $0 }
            try opened.root.syncFileSystem()
            for path in directories.sorted(by: { $0.count > $1.count }) {
                let directory = try Self.openDirectory(path, in: opened.root)
                defer { if directory.fd != opened.root.fd { directory.release() } }
                try directory.syncEntries()
            }
            touched.withLockedValue { $0.subtract(directories) }
            if let auditLogPath {
                Self.appendLine(path: auditLogPath, line: "\(Self.nanosecondsSinceEpoch()) \(getpid()) (flush)\n")
            }
        }
    }

    /// A directory inside the sink directory by its relative path (`""`: the sink directory itself), opened
    /// component by component without following links.
    static func openDirectory(_ path: String, in root: DirectoryDescriptor) throws(FileFailure) -> DirectoryDescriptor {
        var folder = root
        for name in path.split(separator: "/").map(String.init) {
            let next: DirectoryDescriptor
            do throws(FileFailure) {
                next = try folder.subdirectory(name, create: false)
            } catch {
                if folder.fd != root.fd { folder.release() }
                throw error
            }
            if folder.fd != root.fd { folder.release() }
            folder = next
        }
        return folder
    }

    /// Removes this sink's work area (and `.partial` when no other sink works in the directory), then stops the
    /// threads.
    public func shutdown() async throws(SinkError) {
        if let opened = state.withLockedValue({ state in defer { state.opened = nil }; return state.opened }) {
            // Even when the task is cancelled (a worker shutting down): what it leaves, the next sink must sweep.
            _ = try? await offloaded(cancellable: false) { () throws(FileFailure) in
                opened.workArea.release(from: opened.root)
                opened.root.release()
            }
        }
        do {
            try await threadPool.shutdownGracefully()
        } catch {
            // Never started (no `prepare`): nothing to stop.
        }
    }

    /// The path components of an object name, each one a plain name: not empty, not `.` or `..`, no NUL, and
    /// not the sink's temporary folder at the top.
    static func components(of objectName: String) throws(SinkError) -> [String] {
        // Split on the UTF-8 bytes: `/` never occurs inside a multi-byte character, and it spares grapheme breaking.
        let components = objectName.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { String(Substring($0)) }
        let invalid = components.contains { $0.isEmpty || $0 == "." || $0 == ".." || $0.utf8.contains(0) }
        guard !invalid, components.first != ObjectNaming.temporaryFolder else {
            throw SinkError(sinkType: SinkConfiguration.localDirectoryType, objectName: objectName, message: "not a valid object name for a directory", isRetryable: false)
        }
        return components
    }

    /// Writes an object into its folder (made on the way, each opened without following links): an unnamed file
    /// linked under its name; when the name is taken or unnamed files are not supported, a temporary file in the
    /// work area renamed over it (a link at the name is refused, not replaced).
    static func writeObject(
        _ bytes: [UInt8], components: [String], folders: inout FolderCache, via workArea: WorkArea, linking: UnnamedFileLinking
    ) throws(FileFailure) {
        let folder = try folders.folder(of: components)
        let name = components[components.count - 1]
        let temporary: String
        if linking != .unsupported {
            let file = try UnnamedFile(in: folder, bytes: bytes)
            do throws(FileFailure) {
                return try file.link(as: name, in: folder, using: linking)
            } catch where error.errno == EEXIST {
                temporary = workArea.temporaryName()
                try file.link(as: temporary, in: workArea.directory, using: linking)
            }
        } else {
            temporary = workArea.temporaryName()
            try workArea.directory.createFile(temporary, bytes: bytes)
        }
        do throws(FileFailure) {
            try workArea.directory.rename(temporary, to: name, in: folder)
        } catch {
            workArea.directory.remove(temporary)
            throw error
        }
    }

    /// Runs blocking file-system work on the sink's thread pool, away from the cooperative pool. Work already
    /// queued runs even if the task is cancelled meanwhile (it is short); a cancelled task queues nothing, unless
    /// the work is not `cancellable`.
    private func offloaded<T: Sendable>(
        object: String? = nil, cancellable: Bool = true, _ body: @escaping @Sendable () throws(FileFailure) -> T
    ) async throws(SinkError) -> T {
        if cancellable && Task.isCancelled { throw SinkError.cancelled(sinkType: configuration.typeName, objectName: object) }
        let result: Result<T, FileFailure>? = await withCheckedContinuation { continuation in
            threadPool.submit { state in
                guard case .active = state else { return continuation.resume(returning: nil) }
                do throws(FileFailure) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        switch result {
        case .success(let value): return value
        case .failure(let failure): throw error(failure, object: object)
        case nil: throw SinkError(sinkType: configuration.typeName, objectName: object, message: "\(root): the sink is shut down", isRetryable: false)
        }
    }

    /// `mkdir -p` of the sink directory itself (an absolute path the operator chose: links in it are followed).
    static func makeDirectories(_ path: String) throws(FileFailure) {
        var prefix = ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 {
                let code = errno
                var info = stat()
                if code == EEXIST, stat(prefix, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { continue }
                throw .posix("mkdir", prefix, errno: code)
            }
        }
    }

    static func appendLine(path: String, line: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress!, $0.count) }
    }

    static func nanosecondsSinceEpoch() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
