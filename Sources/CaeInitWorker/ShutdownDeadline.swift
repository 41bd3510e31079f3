import Synchronization

/// When the worker must be gone: set once when graceful shutdown starts (now + the grace period). Every wait that
/// could outlive it (recording an outcome through a database fault) is bounded by it.
final class ShutdownDeadline: Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)

    func begin(gracePeriod: Duration) {
        instant.withLock { if $0 == nil { $0 = .now + gracePeriod } }
    }

    var deadline: ContinuousClock.Instant? { instant.withLock { $0 } }

    /// The earlier of `other` and the shutdown deadline.
    func bounding(_ other: ContinuousClock.Instant) -> ContinuousClock.Instant {
        guard let deadline else { return other }
        return min(deadline, other)
    }
}
