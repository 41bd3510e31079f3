import CaeInitCore
import Synchronization

/// The live count of one initialisation, shared by the run (which advances it) and the heartbeat and `run-once`'s
/// progress line (which read it).
public final class InitialisationProgress: Sendable {
    private struct Counts {
        var written = 0
        var total: Int?
    }

    private let counts = Mutex(Counts())
    /// When the initialisation started, for the rate.
    public let startedAt: Int64

    public init(startedAt: Int64 = WallClock.epochMilliseconds()) {
        self.startedAt = startedAt
    }

    /// Set once the snapshot is open: every version it holds for the dossier.
    func setTotal(_ total: Int) {
        counts.withLock { $0.total = total }
    }

    func advance(by versions: Int) {
        guard versions > 0 else { return }
        counts.withLock { $0.written += versions }
    }

    /// The figures now; nil until the total is known.
    public func estimate(now: Int64 = WallClock.epochMilliseconds()) -> ProgressEstimate? {
        let (written, total) = counts.withLock { ($0.written, $0.total) }
        guard let total else { return nil }
        return ProgressEstimate(written: written, total: total, elapsedMilliseconds: now - startedAt)
    }

    /// The pending filter's report while the run goes on: the claim's `{locked, attempt}` plus
    /// `progress: {written, total, startedAt, updatedAt}` (epoch milliseconds); nil until the total is known.
    func report(attempt: Int, now: Int64 = WallClock.epochMilliseconds()) -> JSONValue? {
        guard let estimate = estimate(now: now) else { return nil }
        var progress = JSONObject()
        progress.appendUnchecked("written", .number(String(estimate.written)))
        progress.appendUnchecked("total", .number(String(estimate.total)))
        progress.appendUnchecked("startedAt", .number(String(startedAt)))
        progress.appendUnchecked("updatedAt", .number(String(now)))
        var report = JSONObject()
        report.appendUnchecked("locked", .bool(true))
        report.appendUnchecked("attempt", .number(String(attempt)))
        report.appendUnchecked("progress", .object(progress))
        return .object(report)
    }
}

/// What `run-once` is told about a running initialisation, about once a second.
public struct FilterProgress: Sendable {
    public let subscriptionId: String
    public let key: String
    public let estimate: ProgressEstimate
}

public typealias ProgressHandler = @Sendable (FilterProgress) -> Void
