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
        let pid: pid_t
        do {
            pid = try spawnProcess(executable: executable, arguments: arguments, environment: environment, stdin: inputPipe[0], stdout: .descriptor(outputPipe[1]), stderr: .file(stderrPath))
        } catch {
            close(inputPipe[0]); close(outputPipe[1])
            close(inputPipe[1]); close(outputPipe[0])
            throw error
        }
        close(inputPipe[0])
        close(outputPipe[1])
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
