import Foundation

/// librdkafka's mock cluster (a real Kafka protocol peer) in its own process, `cae-init-kafka-mock` from the build
/// folder, listening on 127.0.0.1. Faults are injected with the mock's own calls. `stop()` ends it; so does the
/// test process dying (the mock exits when its stdin closes).
public final class KafkaTestCluster: Sendable {
    private let process: KafkaPipedProcess
    /// `host:port,...` of the brokers.
    public let bootstrap: String
    /// The broker ids (1…N).
    public let brokerIDs: [Int32]

    /// The mock executable built beside the test bundle (like `CLI.executable()`).
    public static func executable() throws -> String {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var directory = bundle
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("cae-init-kafka-mock").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestFailure("cae-init-kafka-mock not built beside \(bundle.path): run `swift build` before `swift test` (scripts/test.sh does)")
    }

    /// Starts the mock and waits for its `BOOTSTRAP` line off the cooperative pool (a blocking read there would
    /// stall every other test of the process while the mock starts).
    public init(brokers: Int = 1) async throws {
        let process = try KafkaPipedProcess(executable: try Self.executable(), arguments: ["--brokers", "\(brokers)"])
        self.process = process
        let line = try await Self.offCooperativePool { process.readLine(within: 30) } ?? ""
        guard line.hasPrefix("BOOTSTRAP ") else {
            process.closeInput()
            throw TestFailure("the Kafka mock cluster did not start (\(line)): \(process.standardError)")
        }
        bootstrap = String(line.dropFirst("BOOTSTRAP ".count))
        brokerIDs = (1...Int32(brokers)).map { $0 }
    }

    /// Sends one command and waits for its `OK`.
    private func command(_ text: String) async throws {
        let process = self.process
        let answer = try await Self.offCooperativePool { () throws -> String? in
            try process.write(text + "\n")
            return process.readLine(within: 30)
        }
        guard answer == "OK" else { throw TestFailure("mock cluster: \(text): \(answer ?? "no answer") \(process.standardError)") }
    }

    /// Runs blocking pipe I/O on a Dispatch thread.
    private static func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    public func createTopic(_ name: String, partitions: Int) async throws {
        try await command("topic \(name) \(partitions)")
    }

    /// The broker closes its connections and refuses new ones until `setBrokerUp`.
    public func setBrokerDown(_ id: Int32) async throws { try await command("down \(id)") }

    public func setBrokerUp(_ id: Int32) async throws { try await command("up \(id)") }

    /// The next requests of `api` (a Kafka API name: `Fetch`, `OffsetCommit`… or its number) fail with `errors`
    /// (names such as `NOT_COORDINATOR`, or numbers), one per request, in order.
    public func pushRequestErrors(api: String, _ errors: [String]) async throws {
        try await command("errors \(api) \(errors.joined(separator: " "))")
    }

    /// Ends the mock cluster. Idempotent.
    public func stop() {
        process.closeInput()
    }
}
