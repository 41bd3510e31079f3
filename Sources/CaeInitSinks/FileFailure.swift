#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file-system operation of the Local Directory sink: what was done on which path (relative to the sink
/// directory), and the errno when the system refused it.
struct FileFailure: Error, CustomStringConvertible {
    var message: String
    var errno: Int32?

    /// A system call that failed with `errno`.
    static func posix(_ operation: String, _ path: String, errno: Int32) -> FileFailure {
        FileFailure(message: "\(operation) \(path): \(String(cString: strerror(errno)))", errno: errno)
    }

    /// A symbolic link met where the sink expects its own directory or file: never followed.
    static func symbolicLink(_ path: String) -> FileFailure {
        FileFailure(message: "\(path) is a symbolic link; the sink does not follow links inside its directory", errno: nil)
    }

    /// Out of space or a full quota can clear; a permission, path or link problem will not.
    var isRetryable: Bool {
        guard let errno else { return false }
        return errno == ENOSPC || errno == EDQUOT || errno == EIO
    }

    var description: String { message }
}
