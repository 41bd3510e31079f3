import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a spawned process's output goes.
enum OutputTarget {
    case descriptor(Int32)
    case file(String)
}

/// Spawns `executable` (looked up in PATH when it has no slash) with an empty signal mask and default
/// dispositions, so it reacts to SIGTERM whatever the test process blocks; stdin is `stdin`, or /dev/null.
func spawnProcess(executable: String, arguments: [String], environment: [String: String], stdin: Int32? = nil, stdout: OutputTarget, stderr: OutputTarget) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (target, descriptor) in [(stdout, Int32(1)), (stderr, Int32(2))] {
        switch target {
        case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, descriptor)
        case .file(let path): posix_spawn_file_actions_addopen(&actions, descriptor, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
    }
    if let stdin {
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let result = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
    guard result == 0 else { throw TestFailure("cannot start \(executable): \(String(cString: strerror(result)))") }
    return pid
}

/// A command run by a test (the `cae-init` CLI, a worker): output captured in files, waited for off the
/// cooperative pool, killable at any moment.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let stdoutPath: String
    public let stderrPath: String
    private let lock = NSLock()
    private var exitStatus: Int32?

    public init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        let base = NSTemporaryDirectory() + "cae-init-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        stdoutPath = base + ".out"
        stderrPath = base + ".err"
        pid = try spawnProcess(executable: executable, arguments: arguments, environment: environment, stdout: .file(stdoutPath), stderr: .file(stderrPath))
    }

    deinit {
        if lock.withLock({ exitStatus == nil }) {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        unlink(stdoutPath)
        unlink(stderrPath)
    }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the process to end: its exit code, or 128 + the signal that killed it.
    @discardableResult
    public func waitForExit() async -> Int32 {
        if let status = lock.withLock({ exitStatus }) { return status }
        let pid = self.pid
        let code: Int32 = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                let exited = status & 0x7F == 0
                continuation.resume(returning: exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F))
            }
        }
        lock.withLock { exitStatus = code }
        return code
    }

    /// Waits up to `seconds`; nil if the process is still running then.
    public func waitForExit(within seconds: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                lock.withLock { exitStatus = code }
                return code
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    public var standardOutput: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var standardError: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Runs a command to its end.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try ChildProcess(executable: executable, arguments: arguments, environment: environment)
        let status = await process.waitForExit()
        return (status, process.standardOutput, process.standardError)
    }
}
