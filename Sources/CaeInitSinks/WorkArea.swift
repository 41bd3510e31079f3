import CaeInitCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One Local Directory sink's own folder for temporary files, `.partial/<pid>-<random>/`, held by an `flock` on
/// its `lock` file for as long as the sink lives. The kernel drops the lock when the process dies, however it
/// dies (SIGKILL included), so a folder whose lock can be taken belongs to no live sink: `sweep` removes it, and
/// with it whatever a killed worker was writing. Blocking: run it off the cooperative pool.
struct WorkArea: Sendable {
    /// `.partial`, in the sink directory.
    let parent: DirectoryDescriptor
    /// `.partial/<name>`.
    let directory: DirectoryDescriptor
    /// `<pid>-<random>`.
    let name: String
    let lockFD: Int32

    static let lockFile = "lock"
    static let temporarySuffix = ".tmp"
    /// Temporary files left directly in `.partial/` by versions before work areas, removed once this old: older
    /// than any write, so never one in progress.
    static let strayFileAge = 3600

    /// Makes `.partial` when missing, sweeps what dead sinks left there, and claims a new work area. Retried when a
    /// sink finishing at the same moment removes `.partial`, or a sweep takes the area before it is locked.
    static func claim(in root: DirectoryDescriptor) throws(FileFailure) -> WorkArea {
        var lastFailure = FileFailure(message: "cannot claim a work area in \(root.child(ObjectNaming.temporaryFolder))", errno: nil)
        for _ in 0..<20 {
            let parent = try root.subdirectory(ObjectNaming.temporaryFolder, create: true)
            sweep(parent)
            let name = "\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
            let directory: DirectoryDescriptor
            do throws(FileFailure) {
                directory = try parent.subdirectory(name, create: true, mode: 0o700)
            } catch {
                parent.release()
                // `.partial` was removed under us (ENOENT): make it again.
                guard error.errno == ENOENT else { throw error }
                lastFailure = error
                continue
            }
            let lockFD = openat(directory.fd, lockFile, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard lockFD >= 0 else {
                let failure = FileFailure.posix("open", directory.child(lockFile), errno: errno)
                directory.release()
                parent.release()
                guard failure.errno == ENOENT else { throw failure }
                lastFailure = failure
                continue
            }
            var info = stat()
            // A sweep may have taken the lock between `open` and `flock` and removed the area: then the lock file
            // has no name left (`st_nlink` 0), and the claim starts again.
            if lock(lockFD, nonBlocking: false), fstat(lockFD, &info) == 0, info.st_nlink > 0 {
                return WorkArea(parent: parent, directory: directory, name: name, lockFD: lockFD)
            }
            _ = close(lockFD)
            directory.release()
            parent.release()
        }
        throw lastFailure
    }

    /// Removes the work areas whose lock can be taken (their sink is gone), and the stray temporary files of
    /// versions before work areas once they are old.
    static func sweep(_ parent: DirectoryDescriptor) {
        for name in parent.entries() {
            if parent.isSymbolicLink(name) {
                parent.remove(name)
                continue
            }
            guard parent.isDirectory(name) else {
                if name.hasSuffix(temporarySuffix), let age = parent.age(of: name), age >= strayFileAge { parent.remove(name) }
                continue
            }
            guard let area = try? parent.subdirectory(name, create: false) else { continue }
            defer { area.release() }
            // A sink killed between making its folder and its lock file left no lock: this makes one to take.
            let lockFD = openat(area.fd, lockFile, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard lockFD >= 0 else { continue }
            defer { _ = close(lockFD) }
            guard lock(lockFD, nonBlocking: true) else { continue }
            empty(area)
            parent.remove(name, directory: true)
        }
    }

    /// Removes this area's files, its folder and, when no other sink works there, `.partial` itself; closes its
    /// descriptors. The lock is held until the folder is gone.
    func release(from root: DirectoryDescriptor) {
        Self.empty(directory)
        parent.remove(name, directory: true)
        _ = close(lockFD)
        directory.release()
        parent.release()
        root.remove(ObjectNaming.temporaryFolder, directory: true)
    }

    /// A new name for a temporary file in this area.
    func temporaryName() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16) + Self.temporarySuffix
    }

    /// Unlinks every file of `area`, its lock file last.
    private static func empty(_ area: DirectoryDescriptor) {
        for name in area.entries() where name != lockFile {
            area.remove(name, directory: area.isDirectory(name))
        }
        area.remove(lockFile)
    }

    private static func lock(_ fd: Int32, nonBlocking: Bool) -> Bool {
        // `flock` names both a C struct and the function: the type picks the function.
        let flockFunction: (Int32, Int32) -> Int32 = flock
        let operation = LOCK_EX | (nonBlocking ? LOCK_NB : 0)
        while true {
            if flockFunction(fd, operation) == 0 { return true }
            if errno != EINTR { return false }
        }
    }
}
