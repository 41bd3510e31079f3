/// How the Sink Service consumes and delivers. Each default is documented once, here; the CLI takes its defaults
/// from `SinkServiceOptions()`.
public struct SinkServiceOptions: Sendable {
    /// Partitions of one batch delivered at once (messages of one partition always one after the other); default 8.
    public var partitionConcurrency: Int
    /// Longest wait between two reads of the active subscriptions' topics when no change notification comes;
    /// default 5 s.
    public var topicRefreshInterval: Duration
    /// After SIGTERM/SIGINT, how long deliveries in flight may take; those still running then are cancelled and not
    /// committed (they are delivered again after the restart); default 30 s.
    public var gracefulShutdownTimeout: Duration
    /// Wait before a partition whose delivery failed is consumed again from that message, doubled at each failure
    /// in a row; default 1 s.
    public var retryBaseDelay: Duration
    /// Longest wait between two deliveries of a failing message; default 60 s.
    public var retryMaxDelay: Duration
    /// How often the consumer lag gauge is refreshed while no message comes; default 10 s.
    public var lagInterval: Duration

    public init(
        partitionConcurrency: Int = 8,
        topicRefreshInterval: Duration = .seconds(5),
        gracefulShutdownTimeout: Duration = .seconds(30),
        retryBaseDelay: Duration = .seconds(1),
        retryMaxDelay: Duration = .seconds(60),
        lagInterval: Duration = .seconds(10)
    ) {
        self.partitionConcurrency = partitionConcurrency
        self.topicRefreshInterval = topicRefreshInterval
        self.gracefulShutdownTimeout = gracefulShutdownTimeout
        self.retryBaseDelay = retryBaseDelay
        self.retryMaxDelay = retryMaxDelay
        self.lagInterval = lagInterval
    }

    public static let partitionConcurrencyRange = 1...256
    public static let topicRefreshIntervalRange = Duration.milliseconds(100)...Duration.seconds(3600)
    public static let gracefulShutdownTimeoutRange = Duration.zero...Duration.seconds(86_400)
    public static let retryDelayRange = Duration.milliseconds(10)...Duration.seconds(3600)
    public static let lagIntervalRange = Duration.milliseconds(100)...Duration.seconds(3600)

    /// Throws `InvalidSinkServiceOption` naming the first option out of its range, never clamping silently.
    public func validate() throws(InvalidSinkServiceOption) {
        func check<T: Comparable>(_ name: String, _ value: T, _ range: ClosedRange<T>) throws(InvalidSinkServiceOption) {
            guard range.contains(value) else { throw InvalidSinkServiceOption(option: name, reason: "must be between \(range.lowerBound) and \(range.upperBound)") }
        }
        try check("partitionConcurrency", partitionConcurrency, Self.partitionConcurrencyRange)
        try check("topicRefreshInterval", topicRefreshInterval, Self.topicRefreshIntervalRange)
        try check("gracefulShutdownTimeout", gracefulShutdownTimeout, Self.gracefulShutdownTimeoutRange)
        try check("retryBaseDelay", retryBaseDelay, Self.retryDelayRange)
        try check("retryMaxDelay", retryMaxDelay, Self.retryDelayRange)
        if retryMaxDelay < retryBaseDelay { throw InvalidSinkServiceOption(option: "retryMaxDelay", reason: "must not be shorter than retryBaseDelay") }
        try check("lagInterval", lagInterval, Self.lagIntervalRange)
    }

    /// The wait after the `failures`-th failure in a row (1-based).
    public func retryDelay(afterFailures failures: Int) -> Duration {
        var delay = retryBaseDelay
        for _ in 1..<max(1, failures) {
            delay = delay * 2
            if delay >= retryMaxDelay { return retryMaxDelay }
        }
        return min(delay, retryMaxDelay)
    }
}

/// A `SinkServiceOptions` value outside its range; `option` is the property's name.
public struct InvalidSinkServiceOption: Error, Sendable, Equatable, CustomStringConvertible {
    public let option: String
    public let reason: String

    public var description: String { "\(option) \(reason)" }
}
