import CaeInitSinks

/// Tuning of one initialisation.
public struct InitialiserOptions: Sendable {
    /// S3 and Azure requests in flight at once per initialisation (the Local Directory sink sets its own batches,
    /// `Sink.batching`); default 32.
    public var maxUploadsInFlight: Int
    /// Rows read from PostgreSQL per round trip to the connection's thread; default 500.
    public var readBatchSize: Int
    /// Sink writes started per second at most, to spare a throttling sink; default nil (no limit).
    public var maxWritesPerSecond: Double?
    /// When set, the dossier's rows are read into a spool file in this directory and the snapshot transaction ends
    /// before the writes start (see `Spool`); default nil (the writes run inside the snapshot).
    public var spoolDirectory: String?
    /// Threads writing files at once for each Local Directory sink (its own pool, fed two batches of 64 files per
    /// thread); default 4 (`LocalDirectorySink.defaultWriterThreads`). Each file is a create, a write and a link:
    /// system CPU and the disk's queue, not throughput. In `bench/pairs.sh` on this project's
    /// 2-core machine (ext4 on a virtual disk), the bare loop with 4 threads beat 1 thread in 4 pairs of 5 (12.5 to
    /// 25 s against 16.7 to 47 s for 50,520 files); a disk with a deeper queue (NVMe, a network file system) may
    /// want more.
    public var localWriterThreads: Int

    public init(
        maxUploadsInFlight: Int = 32, readBatchSize: Int = 500, maxWritesPerSecond: Double? = nil, spoolDirectory: String? = nil,
        localWriterThreads: Int = LocalDirectorySink.defaultWriterThreads
    ) {
        self.maxUploadsInFlight = maxUploadsInFlight
        self.readBatchSize = readBatchSize
        self.maxWritesPerSecond = maxWritesPerSecond
        self.spoolDirectory = spoolDirectory
        self.localWriterThreads = localWriterThreads
    }

    public static let maxUploadsInFlightRange = 1...4096
    public static let readBatchSizeRange = 1...100_000
    public static let localWriterThreadsRange = 1...256
    public static let maxWritesPerSecondRange = 0.001...1_000_000.0

    public func validate() throws(InvalidOption) {
        try InvalidOption.check("maxUploadsInFlight", maxUploadsInFlight, in: Self.maxUploadsInFlightRange)
        try InvalidOption.check("readBatchSize", readBatchSize, in: Self.readBatchSizeRange)
        try InvalidOption.check("localWriterThreads", localWriterThreads, in: Self.localWriterThreadsRange)
        if let maxWritesPerSecond {
            guard maxWritesPerSecond.isFinite else { throw InvalidOption("maxWritesPerSecond", "must be a finite number") }
            try InvalidOption.check("maxWritesPerSecond", maxWritesPerSecond, in: Self.maxWritesPerSecondRange)
        }
        if let spoolDirectory, spoolDirectory.isEmpty || spoolDirectory.utf8.contains(0) {
            throw InvalidOption("spoolDirectory", "must be a directory path")
        }
    }
}
