/// Tuning of one initialisation.
public struct InitialiserOptions: Sendable {
    /// Sink writes in flight at once per initialisation; default 32.
    public var maxUploadsInFlight: Int
    /// Rows read from PostgreSQL per round trip to the connection's thread; default 500.
    public var readBatchSize: Int
    /// Sink writes started per second at most, to spare a throttling sink; default nil (no limit).
    public var maxWritesPerSecond: Double?

    public init(maxUploadsInFlight: Int = 32, readBatchSize: Int = 500, maxWritesPerSecond: Double? = nil) {
        self.maxUploadsInFlight = maxUploadsInFlight
        self.readBatchSize = readBatchSize
        self.maxWritesPerSecond = maxWritesPerSecond
    }

    public static let maxUploadsInFlightRange = 1...4096
    public static let readBatchSizeRange = 1...100_000
    public static let maxWritesPerSecondRange = 0.001...1_000_000.0

    public func validate() throws(InvalidOption) {
        try InvalidOption.check("maxUploadsInFlight", maxUploadsInFlight, in: Self.maxUploadsInFlightRange)
        try InvalidOption.check("readBatchSize", readBatchSize, in: Self.readBatchSizeRange)
        if let maxWritesPerSecond {
            guard maxWritesPerSecond.isFinite else { throw InvalidOption("maxWritesPerSecond", "must be a finite number") }
            try InvalidOption.check("maxWritesPerSecond", maxWritesPerSecond, in: Self.maxWritesPerSecondRange)
        }
    }
}
