import CaeInitCore
import CaeInitStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One claim's dossier rows on local disk (`--spool-dir`), so that the snapshot transaction ends as soon as
/// PostgreSQL has produced them, instead of staying open (holding back vacuum, risking a standby's recovery
/// conflicts) for the whole upload. Written once in order, then read back once from the start, through 64 KiB
/// buffers: bounded memory whatever the dossier's size.
///
/// The file, `<dir>/<pid>-<random>.spool`, is held by an `flock` for its whole life. The kernel drops the lock
/// when the process dies, however it dies, so a spool whose lock can be taken belongs to no live worker: `sweep`
/// (run when a worker starts and before each new spool) removes it. A record is one row as PostgreSQL sent it
/// (text values, decoded only when read back, so that the snapshot lasts no longer than the reading): a 4-byte
/// little-endian value count, then per value a 4-byte length (`0xFFFFFFFF` for NULL) and its UTF-8 bytes.
/// Blocking calls on a local file, short (one buffer at a time).
final class Spool {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var readOffset = 0
    private var reachedEnd = false
    /// Rows appended per kind, in the order written: read back kind by kind.
    private(set) var counts: [ObjectKind: Int] = [:]
    private(set) var bytesWritten = 0

    static let suffix = ".spool"
    static let bufferSize = 64 * 1024

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    /// Sweeps `directory` (made when missing), then creates and locks a new spool in it.
    static func create(in directory: String) throws(InitialisationError) -> Spool {
        try makeDirectory(directory)
        _ = sweep(directory)
        for _ in 0..<20 {
            let path = "\(directory)/\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))\(suffix)"
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                let code = errno
                if code == EEXIST { continue }
                throw failure("cannot create the spool \(path)", errno: code)
            }
            var info = stat()
            // A sweep may have taken the lock between `open` and `flock` and removed the file: then start again.
            if lock(fd, nonBlocking: false), fstat(fd, &info) == 0, info.st_nlink > 0 {
                return Spool(path: path, fd: fd)
            }
            _ = close(fd)
        }
        throw InitialisationError(.transient, "cannot create a spool in \(directory)")
    }

    /// Removes the spools no live worker holds; returns how many.
    @discardableResult
    static func sweep(_ directory: String) -> Int {
        guard let dir = opendir(directory) else { return 0 }
        defer { closedir(dir) }
        var removed = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard name.hasSuffix(suffix) else { continue }
            let path = "\(directory)/\(name)"
            let fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if lock(fd, nonBlocking: true), unlink(path) == 0 { removed += 1 }
            _ = close(fd)
        }
        return removed
    }

    /// Appends rows of `kind` (as `VersionStream.nextRows` gives them).
    func append(_ rows: [[String?]], of kind: ObjectKind) throws(InitialisationError) {
        for row in rows {
            appendInteger(UInt32(row.count))
            for value in row {
                if let value {
                    appendInteger(UInt32(value.utf8.count))
                    buffer.append(contentsOf: value.utf8)
                } else {
                    appendInteger(UInt32.max)
                }
            }
            if buffer.count >= Self.bufferSize { try flushBuffer() }
        }
        counts[kind, default: 0] += rows.count
    }

    private func appendInteger(_ value: UInt32) {
        for index in 0..<4 { buffer.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(index)))) }
    }

    /// Ends the writing: what is buffered goes to the file, and reading starts from the beginning.
    func finishWriting() throws(InitialisationError) {
        try flushBuffer()
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw Self.failure("cannot rewind the spool \(path)", errno: errno) }
        readOffset = 0
        reachedEnd = false
    }

    /// Up to `limit` versions of `kind`, read in the order they were appended; nil when none is left to read.
    func versions(_ kind: ObjectKind, limit: Int) throws -> [ObjectVersion]? {
        var versions: [ObjectVersion] = []
        while versions.count < limit {
            guard let row = try nextRow() else { break }
            versions.append(try VersionStream.version(kind, row: row))
        }
        return versions.isEmpty ? nil : versions
    }

    /// Closes and removes the file (the lock goes with the descriptor). Safe to call twice.
    func remove() {
        if !closed { unlink(path) }
        release()
    }

    private var closed = false

    private func release() {
        guard !closed else { return }
        closed = true
        _ = close(fd)
    }

    private func flushBuffer() throws(InitialisationError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Self.failure("cannot write the spool \(path)", errno: errno)
            }
            offset += written
        }
        bytesWritten += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// The next row, nil at the end of the file.
    private func nextRow() throws(InitialisationError) -> [String?]? {
        guard try fill(4) else { return nil }
        let count = Int(readInteger())
        var row: [String?] = []
        row.reserveCapacity(count)
        for _ in 0..<count {
            guard try fill(4) else { throw truncated }
            let length = readInteger()
            if length == UInt32.max {
                row.append(nil)
                continue
            }
            guard try fill(Int(length)) else { throw truncated }
            row.append(String(decoding: buffer[readOffset..<(readOffset + Int(length))], as: UTF8.self))
            readOffset += Int(length)
        }
        return row
    }

    private func readInteger() -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(buffer[readOffset + index]) << (8 * UInt32(index)) }
        readOffset += 4
        return value
    }

    private var truncated: InitialisationError { InitialisationError(.transient, "the spool \(path) ends inside a record") }

    /// Makes `count` bytes available from `readOffset`; false when the file ends first with none left.
    private func fill(_ count: Int) throws(InitialisationError) -> Bool {
        if buffer.count - readOffset >= count { return true }
        buffer.removeFirst(readOffset)
        readOffset = 0
        while buffer.count < count && !reachedEnd {
            let start = buffer.count
            let want = max(Self.bufferSize, count - start)
            buffer.append(contentsOf: repeatElement(0, count: want))
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + start, want) }
            if got < 0 {
                buffer.removeLast(want)
                if errno == EINTR { continue }
                throw Self.failure("cannot read the spool \(path)", errno: errno)
            }
            buffer.removeLast(want - got)
            if got == 0 { reachedEnd = true }
        }
        if buffer.count >= count { return true }
        if buffer.isEmpty { return false }
        throw InitialisationError(.transient, "the spool \(path) ends inside a record")
    }

    private static func makeDirectory(_ path: String) throws(InitialisationError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 {
                let code = errno
                var info = stat()
                if code == EEXIST, stat(prefix, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { continue }
                throw failure("cannot create the spool directory \(prefix)", errno: code)
            }
        }
    }

    private static func failure(_ message: String, errno code: Int32) -> InitialisationError {
        InitialisationError(.transient, "\(message): \(String(cString: strerror(code)))")
    }

    private static func lock(_ fd: Int32, nonBlocking: Bool) -> Bool {
        let flockFunction: (Int32, Int32) -> Int32 = flock
        let operation = LOCK_EX | (nonBlocking ? LOCK_NB : 0)
        while true {
            if flockFunction(fd, operation) == 0 { return true }
            if errno != EINTR { return false }
        }
    }
}
