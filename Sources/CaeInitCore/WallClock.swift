#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The real-time clock, for timestamps written into reports, manifests and audit lines (durations use
/// `ContinuousClock`).
public enum WallClock {
    public static func epochNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    public static func epochMilliseconds() -> Int64 { Int64(epochNanoseconds() / 1_000_000) }
}

extension Duration {
    /// The duration in seconds, for logs and SQL intervals.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
