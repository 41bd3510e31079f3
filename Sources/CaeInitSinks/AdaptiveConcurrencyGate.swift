import CaeInitCore
import Logging
import Metrics
import NIOConcurrencyHelpers

/// Bounds a remote sink's requests in flight by an `AdaptiveLimit`: each HTTP attempt holds a permit while it runs
/// (not while it waits before a retry), a throttling answer lowers the limit and successes raise it again. One gate
/// per initialisation, made by the initialiser with `--max-uploads-in-flight` as its maximum.
///
/// Observable: the gauge `cae_init_sink_in_flight_limit{sink}` follows the limit, and each change is logged, at
/// most one line per `logInterval` (a line counts the changes it stands for); a climb back to the maximum is always
/// logged. `summary` gives the run's lowest limit for its final log line.
public final class AdaptiveConcurrencyGate: Sendable {
    /// How one attempt ended, for the limit.
    public enum Outcome: Sendable {
        case success
        case throttled
        /// Any other failure: says nothing about the service's rate.
        case failed
    }

    /// A held permit: the generation of the limit it was granted in.
    public struct Permit: Sendable {
        let generation: Int
    }

    struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Void, any Error>
    }

    struct State {
        var limit: AdaptiveLimit
        var active = 0
        var waiters: [Waiter] = []
        var nextWaiterId = 0
        var lastLogged: ContinuousClock.Instant?
        var unloggedChanges = 0
    }

    public let label: String
    let logger: Logger
    let logInterval: Duration
    let gauge: Gauge
    let state: NIOLockedValueBox<State>

    /// - Parameters:
    ///   - label: the sink type, in log lines and the gauge's `sink` dimension.
    public init(
        maximum: Int, label: String, logger: Logger, successesPerIncrease: Int = AdaptiveLimit.defaultSuccessesPerIncrease,
        logInterval: Duration = .seconds(1)
    ) {
        self.label = label
        self.logger = logger
        self.logInterval = logInterval
        let limit = AdaptiveLimit(maximum: maximum, successesPerIncrease: successesPerIncrease)
        state = NIOLockedValueBox(State(limit: limit))
        gauge = Gauge(label: "cae_init_sink_in_flight_limit", dimensions: [("sink", label)])
        gauge.record(limit.current)
    }

    /// The limit as it stands, with its lowest point and its moves so far.
    public var summary: AdaptiveLimit { state.withLockedValue { $0.limit } }

    /// Waits for a permit (first come, first served). Throws `CancellationError` when the task is cancelled while
    /// waiting.
    public func acquire() async throws -> Permit {
        let id = state.withLockedValue { state in
            defer { state.nextWaiterId += 1 }
            return state.nextWaiterId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let granted: Bool? = state.withLockedValue { state in
                    if Task.isCancelled { return nil }
                    if state.waiters.isEmpty && state.active < state.limit.current {
                        state.active += 1
                        return true
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                switch granted {
                case true?: continuation.resume()
                case nil: continuation.resume(throwing: CancellationError())
                case false?: break
                }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
        return state.withLockedValue { Permit(generation: $0.limit.generation) }
    }

    /// Gives the permit back with what the attempt met, and lets waiters in as the limit allows.
    public func release(_ permit: Permit, _ outcome: Outcome) {
        let now = ContinuousClock.now
        let (change, woken, line) = state.withLockedValue { state -> (AdaptiveLimit.Change, [Waiter], (String, Logger.Level)?) in
            state.active -= 1
            let change: AdaptiveLimit.Change
            switch outcome {
            case .success: change = state.limit.recordSuccess()
            case .throttled: change = state.limit.recordThrottle(sentIn: permit.generation)
            case .failed: change = .unchanged
            }
            var woken: [Waiter] = []
            while state.active < state.limit.current, !state.waiters.isEmpty {
                woken.append(state.waiters.removeFirst())
                state.active += 1
            }
            return (change, woken, self.logLine(for: change, at: now, in: &state))
        }
        for waiter in woken { waiter.continuation.resume() }
        if change != .unchanged {
            gauge.record(summary.current)
        }
        if let (text, level) = line {
            logger.log(level: level, "\(text)")
        }
    }

    /// The line to log for a change, if one is due: rate-limited, except a climb back to the maximum.
    private func logLine(for change: AdaptiveLimit.Change, at now: ContinuousClock.Instant, in state: inout State) -> (String, Logger.Level)? {
        let limit = state.limit
        let text: String
        let level: Logger.Level
        switch change {
        case .unchanged:
            return nil
        case .decreased(let from, let to):
            text = "\(label) is throttling: requests in flight lowered from \(from) to \(to) (maximum \(limit.maximum))"
            level = .warning
        case .increased(let from, let to):
            text = to == limit.maximum
                ? "\(label) requests in flight back at their maximum \(to)"
                : "\(label) requests in flight raised from \(from) to \(to) (maximum \(limit.maximum))"
            level = .info
        }
        let recovered = change == .increased(from: limit.maximum - 1, to: limit.maximum)
        if !recovered, let last = state.lastLogged, now - last < logInterval {
            state.unloggedChanges += 1
            return nil
        }
        let skipped = state.unloggedChanges
        state.lastLogged = now
        state.unloggedChanges = 0
        return (skipped > 0 ? "\(text) (\(skipped) earlier changes not logged)" : text, level)
    }
}
