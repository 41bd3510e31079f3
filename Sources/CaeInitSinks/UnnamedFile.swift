#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How the sink's file system gives a name to an unnamed file, found once by `UnnamedFile.probe` in the work area.
enum UnnamedFileLinking: Sendable, Equatable {
    /// `linkat` of `/proc/self/fd/N`, following it: what open(2) documents, needing only /proc.
    case procSelfFD
    /// `linkat(fd, "", …, AT_EMPTY_PATH)`: for a process without /proc (older kernels ask CAP_DAC_READ_SEARCH).
    case emptyPath
    /// No `O_TMPFILE` (some network, overlay or non-Linux file systems): a named temporary file, then a rename.
    case unsupported
}

/// A file opened with `O_TMPFILE` in the folder it will be linked into: written before it has a name, so a reader
/// sees it whole or not at all, and a crash before the link leaves nothing behind (the kernel frees an inode with
/// no name). Unlike a temporary file renamed from the work area, making it takes no lock on a directory, which is
/// where parallel writers of one folder queued (the inode allocation ran under the work area's lock, the
/// cross-directory rename under both folders' and the file system's rename lock). Closed when dropped.
struct UnnamedFile: ~Copyable {
    let fd: Int32

    /// Makes an unnamed file in `directory` holding `bytes` (mode 0644 less the umask, like a named one).
    init(in directory: DirectoryDescriptor, bytes: [UInt8]) throws(FileFailure) {
        #if os(Linux)
        let fd = openat(directory.fd, ".", Self.openFlags, 0o644)
        guard fd >= 0 else { throw .posix("open (unnamed file)", directory.path, errno: errno) }
        do throws(FileFailure) {
            try DirectoryDescriptor.writeFully(fd, bytes: bytes, path: directory.path)
        } catch {
            _ = close(fd)
            throw error
        }
        self.fd = fd
        #else
        throw FileFailure(message: "unnamed files need Linux's O_TMPFILE", errno: nil)
        #endif
    }

    deinit { _ = close(fd) }

    /// Gives the file the name `name` in `directory`. EEXIST when the name is taken (a link there included: `linkat`
    /// never replaces nor follows it).
    func link(as name: String, in directory: DirectoryDescriptor, using linking: UnnamedFileLinking) throws(FileFailure) {
        let result: Int32
        switch linking {
        case .procSelfFD:
            result = linkat(AT_FDCWD, "/proc/self/fd/\(fd)", directory.fd, name, AT_SYMLINK_FOLLOW)
        case .emptyPath:
            #if os(Linux)
            result = linkat(fd, "", directory.fd, name, Self.atEmptyPath)
            #else
            result = -1
            #endif
        case .unsupported:
            throw FileFailure(message: "link \(directory.child(name)): unnamed files are not supported here", errno: nil)
        }
        guard result == 0 else {
            let code = errno
            throw .posix("link", directory.child(name), errno: code)
        }
    }

    /// Which linking works in `directory` (the sink's work area): an unnamed file is made and linked under a probe
    /// name, which is then removed.
    static func probe(in directory: DirectoryDescriptor) -> UnnamedFileLinking {
        for linking in [UnnamedFileLinking.procSelfFD, .emptyPath] {
            guard let file = try? UnnamedFile(in: directory, bytes: []) else { return .unsupported }
            let name = "probe-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
            if (try? file.link(as: name, in: directory, using: linking)) != nil {
                directory.remove(name)
                return linking
            }
        }
        return .unsupported
    }

    #if os(Linux)
    /// `O_TMPFILE` is a C macro Swift does not import: `__O_TMPFILE` (the same octal value on every Linux
    /// architecture Swift runs on) with `O_DIRECTORY`.
    private static let openFlags: Int32 = 0o20000000 | O_DIRECTORY | O_WRONLY | O_CLOEXEC
    /// `AT_EMPTY_PATH`, which Glibc's module leaves out: the same value on every Linux architecture.
    private static let atEmptyPath: Int32 = 0x1000
    #endif
}
