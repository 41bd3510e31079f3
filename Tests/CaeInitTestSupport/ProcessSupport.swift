import CaeInitCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The directory of the test helpers (Python servers).
public enum SupportFiles {
    public static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(name).path
    }
}

/// A helper server run as a `python3` subprocess for one test; `stop()` (call it in a `defer`) kills it.
/// Spawned with `posix_spawn` and an empty signal mask: Foundation's `Process` lets children inherit the
/// blocked signals of Dispatch's threads (so they ignore SIGTERM) and its `waitUntilExit` spins a run loop on
/// the cooperative pool.
public final class ServerProcess: @unchecked Sendable {
    public let pid: pid_t
    public let port: Int
    public let logPath: String
    private let lock = NSLock()
    private var running = true
    private var stdoutFD: Int32 = -1

    /// Starts `python3 <arguments>` and reads the `PORT <n>` line it prints once listening.
    public init(python arguments: [String], environment: [String: String] = [:]) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw TestFailure("pipe failed") }
        // Close-on-exec, so that helpers spawned concurrently by other tests do not hold this pipe.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        logPath = NSTemporaryDirectory() + "cae-init-sinks-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        do {
            pid = try Self.spawn(arguments, environment: environment, stdout: fds[1], logPath: logPath)
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        stdoutFD = fds[0]
        var line: [UInt8] = []
        var byte: UInt8 = 0
        var pollFD = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        while line.count < 100 {
            guard poll(&pollFD, 1, 20_000) == 1, read(fds[0], &byte, 1) == 1, byte != UInt8(ascii: "\n") else { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            port = 0
            stop()
            throw TestFailure("helper \(arguments.first ?? "") did not start (\(text)): \(Self.tail(logPath))")
        }
        self.port = port
    }

    /// Starts `python3 <arguments>` meant to listen on `port` (chosen by the caller) and waits until it accepts
    /// connections.
    public init(python arguments: [String], port: Int, environment: [String: String] = [:], readyWithin seconds: Double = 30) throws {
        logPath = NSTemporaryDirectory() + "cae-init-sinks-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devNull) }
        pid = try Self.spawn(arguments, environment: environment, stdout: devNull, logPath: logPath)
        self.port = port
        let deadline = Date().addingTimeInterval(seconds)
        while !Self.accepts(port: port) {
            var status: Int32 = 0
            let exited = waitpid(pid, &status, WNOHANG) == pid
            if exited { lock.withLock { running = false } }
            guard !exited, Date() < deadline else {
                stop()
                throw TestFailure("helper \(arguments.joined(separator: " ")) did not listen on port \(port) within \(seconds) s: \(Self.tail(logPath))")
            }
            usleep(50_000)
        }
    }

    /// Kills the server (SIGKILL) and reaps it. Idempotent.
    public func stop() {
        let wasRunning = lock.withLock { () -> Bool in
            defer { running = false }
            return running
        }
        guard wasRunning else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        if stdoutFD >= 0 { close(stdoutFD) }
        unlink(logPath)
    }

    deinit { stop() }

    private static func spawn(_ arguments: [String], environment: [String: String], stdout: Int32, logPath: String) throws -> pid_t {
        try spawnProcess(executable: "python3", arguments: arguments, environment: environment, stdout: .descriptor(stdout), stderr: .file(logPath))
    }

    private static func tail(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(String(decoding: data, as: UTF8.self).suffix(2000))
    }

    /// A port free on 127.0.0.1 at the time of asking.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// Records the retry executor's waits instead of sleeping them.
public final class WaitRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Duration] = []
    /// Whether the waits are also slept, to measure them.
    public let sleeping: Bool

    public init(sleeping: Bool = false) { self.sleeping = sleeping }

    public var waits: [Duration] { lock.withLock { recorded } }

    public var sleep: @Sendable (Duration) async throws -> Void {
        { duration in
            self.lock.withLock { self.recorded.append(duration) }
            if self.sleeping { try await Task.sleep(for: duration) }
        }
    }
}

/// Reading JSON documents in tests.
extension JSONValue {
    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    public func string(_ key: String) throws -> String {
        guard let value = self[key]?.stringValue else { throw TestFailure("missing string \"\(key)\"") }
        return value
    }
}

