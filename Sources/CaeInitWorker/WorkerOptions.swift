/// How a worker polls, claims and retries.
public struct WorkerOptions: Sendable {
    /// Written as each claimed filter's `initializer`; default the host name plus a short random suffix.
    public var name: String = WorkerOptions.defaultName()
    /// Initialisations run at once; default 2.
    public var concurrency: Int = 2
    /// Longest wait between two looks for claimable filters when no notification comes; default 2 s.
    public var pollInterval: Duration = .seconds(2)
    /// How long a claim lasts without a heartbeat; heartbeats every third of it; default 60 s.
    public var leaseSeconds: Double = 60
    /// On SIGTERM/SIGINT, how long running initialisations may take to finish before being released; default 30 s.
    public var graceSeconds: Double = 30
    /// Runs per filter (counting runs whose worker died) before it is marked `failed`; default 5.
    public var maxAttempts: Int = 5
    /// Wait before retrying after a transient failure, doubled at each attempt; default 5 s.
    public var retryBaseDelay: Duration = .seconds(5)
    /// Longest wait between retries; default 5 min.
    public var retryMaxDelay: Duration = .seconds(300)
    /// Exit once no `new` filter is left instead of waiting for more (`run-once`); default false.
    public var exitWhenIdle: Bool = false
    /// The initialisation's own tuning.
    public var initialiser: InitialiserOptions = .init()

    public init() {}

    /// The wait before the retry that follows failed attempt `attempt` (1-based).
    public func retryDelay(afterAttempt attempt: Int) -> Duration {
        var delay = retryBaseDelay
        for _ in 1..<max(1, attempt) {
            delay = delay * 2
            if delay >= retryMaxDelay { return retryMaxDelay }
        }
        return min(delay, retryMaxDelay)
    }

    /// Like a Kubernetes pod name: `<host>-<5 random characters>`.
    public static func defaultName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "cae-init"
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        let suffix = String((0..<5).map { _ in alphabet.randomElement()! })
        return "\(host.isEmpty ? "cae-init" : host)-\(suffix)"
    }
}
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
