import CaeInitCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// The `Local Directory` sink: each object is written to a temporary file under `<path>/.partial/`, flushed, then
/// renamed over its name, so a reader sees a file whole or not at all, and a worker killed mid-write leaves
/// nothing half-written beside the documents.
public struct LocalDirectorySink: Sink {
    public let configuration: SinkConfiguration
    public let root: String
    /// When set, one line per file written (`<ns since epoch> <pid> <object name>`) is appended there: an audit
    /// trail of who wrote what when, kept by the sink rather than the worker.
    public let auditLogPath: String?

    /// Where files are written before being renamed into place (same file system, so the rename is atomic).
    public static let partialDirectory = ".partial"

    public init(configuration: SinkConfiguration, local: LocalDirectorySinkConfiguration, auditLogPath: String? = nil) {
        self.configuration = configuration
        self.root = local.path.hasSuffix("/") && local.path.count > 1 ? String(local.path.dropLast()) : local.path
        self.auditLogPath = auditLogPath
    }

    private func error(_ message: String, object: String? = nil, retryable: Bool = false) -> SinkError {
        SinkError(sinkType: SinkConfiguration.localDirectoryType, objectName: object, message: message, isRetryable: retryable)
    }

    public func prepare() async throws {
        let root = self.root
        try await Self.offloaded { () throws(SinkError) in
            do throws(POSIXFailure) { try FileSystem.makeDirectories("\(root)/\(Self.partialDirectory)") } catch {
                throw self.error("cannot create directory \(root): \(error)")
            }
        }
    }

    public func put(_ objectName: String, body: [UInt8]) async throws {
        let executor = RetryExecutor(policy: configuration.retryPolicy)
        let root = self.root
        let auditLogPath = self.auditLogPath
        try await executor.run {
            try await Self.offloaded { () throws(SinkError) in
                do throws(POSIXFailure) {
                    try FileSystem.writeAtomically(path: "\(root)/\(objectName)", bytes: body, temporaryDirectory: "\(root)/\(Self.partialDirectory)")
                } catch {
                    // Out of space or a full quota can clear; a permission or path problem will not.
                    let retryable = error.errno == ENOSPC || error.errno == EDQUOT || error.errno == EIO
                    throw self.error("cannot write \(root)/\(objectName): \(error)", object: objectName, retryable: retryable)
                }
                if let auditLogPath {
                    FileSystem.appendLine(path: auditLogPath, line: "\(FileSystem.nanosecondsSinceEpoch()) \(getpid()) \(objectName)\n")
                }
            }
        }
    }

    /// Runs blocking file-system work on Dispatch's pool, away from the cooperative pool.
    static func offloaded(_ body: @escaping @Sendable () throws(SinkError) -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            DispatchQueue.global().async {
                do {
                    try body()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

/// A POSIX failure with its errno, printed as `strerror` text.
struct POSIXFailure: Error, CustomStringConvertible {
    let operation: String
    let errno: Int32
    var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}

enum FileSystem {
    static func makeDirectories(_ path: String) throws(POSIXFailure) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 {
                let code = errno
                var info = stat()
                if code == EEXIST, stat(prefix, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { continue }
                throw POSIXFailure(operation: "mkdir \(prefix)", errno: code)
            }
        }
    }

    /// Writes `bytes` to a temporary file in `temporaryDirectory`, fsyncs it and renames it over `path`. The
    /// object's directories are made only when the rename finds them missing: one `mkdir` per directory, not
    /// per file.
    static func writeAtomically(path: String, bytes: [UInt8], temporaryDirectory: String) throws(POSIXFailure) {
        let temporary = "\(temporaryDirectory)/\(getpid())-\(UInt64.random(in: 0...UInt64.max)).tmp"
        var fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT {
            try makeDirectories(temporaryDirectory)
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else { throw POSIXFailure(operation: "open", errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                close(fd)
                unlink(temporary)
                throw POSIXFailure(operation: "write", errno: code)
            }
            written += n
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            unlink(temporary)
            throw POSIXFailure(operation: "fsync", errno: code)
        }
        close(fd)
        var renamed = rename(temporary, path)
        if renamed != 0 && errno == ENOENT, let slash = path.lastIndex(of: "/") {
            do throws(POSIXFailure) {
                try makeDirectories(String(path[..<slash]))
            } catch {
                unlink(temporary)
                throw error
            }
            renamed = rename(temporary, path)
        }
        if renamed != 0 {
            let code = errno
            unlink(temporary)
            throw POSIXFailure(operation: "rename", errno: code)
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
