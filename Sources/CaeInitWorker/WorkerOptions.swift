#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a worker polls, claims and retries. Each default is documented once, here; the CLI takes its defaults from
/// `WorkerOptions()`.
public struct WorkerOptions: Sendable {
    /// Written as each claimed filter's `initializer`; default the host name plus a short random suffix.
    public var name: String
    /// Initialisations run at once; default 2.
    public var concurrency: Int
    /// Longest wait between two looks for claimable filters when no notification comes; default 2 s.
    public var pollInterval: Duration
    /// How long a claim lasts without a heartbeat; heartbeats every third of it; default 60 s.
    public var lease: Duration
    /// After SIGTERM/SIGINT, how long running initialisations may take before they are cancelled and released;
    /// default 30 s. Recording outcomes is bounded by it too, so the process exits within it.
    public var gracefulShutdownTimeout: Duration
    /// Runs per filter (counting runs whose worker died) before it is marked `failed`; default 5.
    public var maxAttempts: Int
    /// Wait before retrying after a transient failure, doubled at each attempt; default 5 s.
    public var retryBaseDelay: Duration
    /// Longest wait between retries; default 5 min.
    public var retryMaxDelay: Duration
    /// Exit once no `new` filter is left instead of waiting for more (`run-once`); default false.
    public var exitWhenIdle: Bool
    /// The initialisation's own tuning.
    public var initialiser: InitialiserOptions

    public init(
        name: String = WorkerOptions.defaultName(),
        concurrency: Int = 2,
        pollInterval: Duration = .seconds(2),
        lease: Duration = .seconds(60),
        gracefulShutdownTimeout: Duration = .seconds(30),
        maxAttempts: Int = 5,
        retryBaseDelay: Duration = .seconds(5),
        retryMaxDelay: Duration = .seconds(300),
        exitWhenIdle: Bool = false,
        initialiser: InitialiserOptions = .init()
    ) {
        self.name = name
        self.concurrency = concurrency
        self.pollInterval = pollInterval
        self.lease = lease
        self.gracefulShutdownTimeout = gracefulShutdownTimeout
        self.maxAttempts = maxAttempts
        self.retryBaseDelay = retryBaseDelay
        self.retryMaxDelay = retryMaxDelay
        self.exitWhenIdle = exitWhenIdle
        self.initialiser = initialiser
    }

    /// The accepted ranges: a value outside them is refused naming the option, never clamped silently.
    public static let concurrencyRange = 1...256
    public static let pollIntervalRange = Duration.milliseconds(50)...Duration.seconds(3600)
    public static let leaseRange = Duration.seconds(1)...Duration.seconds(86_400)
    public static let gracefulShutdownTimeoutRange = Duration.zero...Duration.seconds(86_400)
    public static let maxAttemptsRange = 1...1000
    public static let retryBaseDelayRange = Duration.zero...Duration.seconds(86_400)
    public static let maxNameLength = 200

    /// Throws `InvalidOption` naming the first option out of its range.
    public func validate() throws(InvalidOption) {
        if name.isEmpty { throw InvalidOption("name", "must not be empty") }
        if name.count > Self.maxNameLength { throw InvalidOption("name", "must be at most \(Self.maxNameLength) characters") }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw InvalidOption("name", "must not contain control characters")
        }
        try InvalidOption.check("concurrency", concurrency, in: Self.concurrencyRange)
        try InvalidOption.check("pollInterval", pollInterval, in: Self.pollIntervalRange)
        try InvalidOption.check("lease", lease, in: Self.leaseRange)
        try InvalidOption.check("gracefulShutdownTimeout", gracefulShutdownTimeout, in: Self.gracefulShutdownTimeoutRange)
        try InvalidOption.check("maxAttempts", maxAttempts, in: Self.maxAttemptsRange)
        try InvalidOption.check("retryBaseDelay", retryBaseDelay, in: Self.retryBaseDelayRange)
        try initialiser.validate()
    }

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

/// An option outside its accepted range; `option` is the property's name.
public struct InvalidOption: Error, Sendable, Equatable, CustomStringConvertible {
    public let option: String
    public let reason: String

    public init(_ option: String, _ reason: String) {
        self.option = option
        self.reason = reason
    }

    public var description: String { "\(option) \(reason)" }

    static func check<T: Comparable>(_ option: String, _ value: T, in range: ClosedRange<T>) throws(InvalidOption) {
        guard range.contains(value) else { throw InvalidOption(option, "must be between \(range.lowerBound) and \(range.upperBound)") }
    }
}
