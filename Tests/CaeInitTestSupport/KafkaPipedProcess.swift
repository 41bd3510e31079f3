import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A helper process of the Kafka tests whose stdin is a pipe the test writes and whose stdout the test reads line
/// by line (the mock cluster's command channel). Closing stdin (or the test process dying) ends the helper.
/// `@unchecked Sendable`: the descriptors and the read buffer are touched under `lock` only.
public final class KafkaPipedProcess: @unchecked Sendable {
    public let pid: pid_t
    public let stderrPath: String
    private let lock = NSLock()
    private var input: Int32
    private var output: Int32
    private var buffer: [UInt8] = []
    private var reaped = false

    public init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        var inputPipe: [Int32] = [-1, -1]
        var outputPipe: [Int32] = [-1, -1]
        // Close-on-exec, so that helpers spawned concurrently by other tests never hold these pipes open.
        guard pipe(&inputPipe) == 0 else { throw TestFailure("pipe failed") }
        guard pipe(&outputPipe) == 0 else {
            close(inputPipe[0]); close(inputPipe[1])
            throw TestFailure("pipe failed")
        }
        for descriptor in inputPipe + outputPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        stderrPath = NSTemporaryDirectory() + "cae-init-kafka-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
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
        close(inputPipe[0])
        close(outputPipe[1])
        guard result == 0 else {
            close(inputPipe[1]); close(outputPipe[0])
            throw TestFailure("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        input = inputPipe[1]
        output = outputPipe[0]
    }

    deinit {
        closeInput()
        kill(pid, SIGKILL)
        _ = reap()
        if output >= 0 { close(output) }
        unlink(stderrPath)
    }

    /// Writes `text` to the helper's stdin (blocking; call it off the cooperative pool for large inputs).
    public func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        try lock.withLock {
            var written = 0
            while written < bytes.count {
                let count = bytes[written...].withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw TestFailure("the helper's stdin is closed: \(standardError)") }
                written += count
            }
        }
    }

    /// The next line of the helper's stdout, without its newline; nil at end of file or after `seconds`.
    public func readLine(within seconds: Double) -> String? {
        lock.withLock {
            let deadline = Date().addingTimeInterval(seconds)
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[..<newline], as: UTF8.self)
                    buffer.removeSubrange(...newline)
                    return line
                }
                let left = deadline.timeIntervalSinceNow
                guard left > 0 else { return nil }
                var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, Int32(left * 1000) + 1) == 1 else { continue }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = read(output, &chunk, chunk.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return nil }
                buffer.append(contentsOf: chunk[..<count])
            }
        }
    }

    /// Closes the helper's stdin (it sees end of file).
    public func closeInput() {
        lock.withLock {
            if input >= 0 { close(input) }
            input = -1
        }
    }

    /// Waits for the helper to exit: its status, or 128 + the signal that ended it.
    @discardableResult
    public func reap() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    public var standardError: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}
