#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open directory, named by its path relative to the sink directory (for messages). Every operation is relative
/// to the descriptor (`openat`, `mkdirat`, `renameat`, `unlinkat`) and never follows a symbolic link, so nothing
/// planted inside the sink directory can lead a write out of it. Blocking: run it off the cooperative pool.
struct DirectoryDescriptor: Sendable {
    let fd: Int32
    /// The path relative to the sink directory (`.` for the sink directory itself).
    let path: String

    /// Opens a directory by its absolute path, following links in that path: the operator chose it.
    static func opening(absolutePath: String) throws(FileFailure) -> DirectoryDescriptor {
        let fd = open(absolutePath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .posix("open", absolutePath, errno: errno) }
        return DirectoryDescriptor(fd: fd, path: ".")
    }

    func release() {
        _ = close(fd)
    }

    func child(_ name: String) -> String {
        path == "." ? name : "\(path)/\(name)"
    }

    /// The subdirectory `name`, made when `create` and missing. A link or a file there is refused.
    func subdirectory(_ name: String, create: Bool, mode: mode_t = 0o755) throws(FileFailure) -> DirectoryDescriptor {
        var fd = openat(self.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && errno == ENOENT && create {
            if mkdirat(self.fd, name, mode) != 0 && errno != EEXIST {
                throw .posix("mkdir", child(name), errno: errno)
            }
            fd = openat(self.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        }
        guard fd >= 0 else {
            let code = errno
            if (code == ELOOP || code == ENOTDIR || code == EMLINK), isSymbolicLink(name) { throw .symbolicLink(child(name)) }
            throw .posix("open", child(name), errno: code)
        }
        return DirectoryDescriptor(fd: fd, path: child(name))
    }

    /// Whether `name` is a symbolic link (not followed).
    func isSymbolicLink(_ name: String) -> Bool {
        var info = stat()
        return fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// Whether `name` exists and is a directory (not followed).
    func isDirectory(_ name: String) -> Bool {
        var info = stat()
        return fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `name` exclusively (never through a link) and writes `bytes` to it, not fsynced: the sink makes its
    /// files durable together (`LocalDirectorySink.flush`). A failure removes it.
    func createFile(_ name: String, bytes: [UInt8]) throws(FileFailure) {
        let fd = openat(self.fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .posix("open", child(name), errno: errno) }
        defer { _ = close(fd) }
        do throws(FileFailure) {
            try Self.writeFully(fd, bytes: bytes, path: child(name))
        } catch {
            unlinkat(self.fd, name, 0)
            throw error
        }
    }

    /// Writes all of `bytes` to `fd` (`path` names it in a failure).
    static func writeFully(_ fd: Int32, bytes: [UInt8], path: @autoclosure () -> String) throws(FileFailure) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .posix("write", path(), errno: code)
            }
            written += n
        }
    }

    /// Renames `name` (in this directory) over `target` in `directory`. A link at the target is refused rather
    /// than replaced: it was planted, and the operator should see it.
    func rename(_ name: String, to target: String, in directory: DirectoryDescriptor) throws(FileFailure) {
        if directory.isSymbolicLink(target) { throw .symbolicLink(directory.child(target)) }
        guard renameat(fd, name, directory.fd, target) == 0 else {
            throw .posix("rename", directory.child(target), errno: errno)
        }
    }

    /// Flushes this directory's entries (new names, renames) to disk.
    func syncEntries() throws(FileFailure) {
        guard fsync(fd) == 0 else { throw .posix("fsync", path, errno: errno) }
    }

    /// Flushes every pending write of the file system holding this directory: one call for all the files written
    /// since the last, instead of an `fsync` each (`syncfs(2)`, Linux; elsewhere `sync(2)`). `syncfs` is
    /// looked up at run time since the C library's header hides it from Swift.
    func syncFileSystem() throws(FileFailure) {
        #if os(Linux)
        if let symbol = Self.syncfsFunction {
            guard symbol(fd) == 0 else { throw .posix("syncfs", path, errno: errno) }
            return
        }
        #endif
        sync()
    }

    #if os(Linux)
    private typealias SyncFS = @convention(c) (Int32) -> Int32
    private static let syncfsFunction: SyncFS? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs").map { unsafeBitCast($0, to: SyncFS.self) }
    #endif

    /// Unlinks `name`; a directory only when empty. Errors ignored: used to tidy up.
    func remove(_ name: String, directory: Bool = false) {
        unlinkat(fd, name, directory ? AT_REMOVEDIR : 0)
    }

    /// The names in this directory, `.` and `..` left out.
    func entries() -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { _ = close(copy) }
            return []
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Seconds since `name` was last modified (not followed); nil when it cannot be read.
    func age(of name: String) -> Int? {
        var info = stat()
        var now = timespec()
        guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0, clock_gettime(CLOCK_REALTIME, &now) == 0 else { return nil }
        #if canImport(Darwin)
        return Int(now.tv_sec - info.st_mtimespec.tv_sec)
        #else
        return Int(now.tv_sec - info.st_mtim.tv_sec)
        #endif
    }
}
