/// How many requests a remote sink keeps in flight, adapted to what the service accepts (additive increase,
/// multiplicative decrease, as the AWS SDKs' adaptive retry mode and TCP do): a throttling answer (`503 SlowDown`,
/// `503 ServerBusy`…) multiplies the limit by `decreaseFactor` (never below 1), and every `successesPerIncrease`
/// successes raise it by one, never above `maximum` (`--max-uploads-in-flight`).
///
/// One congestion episode lowers the limit once: the requests already in flight when a throttle came are throttled
/// too, and counting each of them would drive the limit to 1 at once. So a request carries the `generation` it was
/// sent in, and only a throttle of the current generation lowers the limit (and starts a new generation).
public struct AdaptiveLimit: Sendable, Equatable {
    public let maximum: Int
    public let successesPerIncrease: Int
    public let decreaseFactor: Double
    /// Requests allowed in flight now, in `1...maximum`.
    public private(set) var current: Int
    /// Bumped at each throttle taken into account.
    public private(set) var generation = 0
    /// Successes since the last change.
    public private(set) var successes = 0
    /// The lowest `current` has been, how many times it moved, and how many times it climbed back to `maximum`.
    public private(set) var lowest: Int
    public private(set) var recoveries = 0
    public private(set) var decreases = 0
    public private(set) var increases = 0

    public static let defaultSuccessesPerIncrease = 8
    public static let defaultDecreaseFactor = 0.5

    /// What a recorded outcome did to the limit.
    public enum Change: Sendable, Equatable {
        case unchanged
        case decreased(from: Int, to: Int)
        case increased(from: Int, to: Int)
    }

    /// Starts at `maximum` (at least 1).
    public init(maximum: Int, successesPerIncrease: Int = defaultSuccessesPerIncrease, decreaseFactor: Double = defaultDecreaseFactor) {
        self.maximum = max(1, maximum)
        self.successesPerIncrease = max(1, successesPerIncrease)
        self.decreaseFactor = min(max(decreaseFactor, 0), 1)
        current = self.maximum
        lowest = self.maximum
    }

    /// A request sent in `generation` was throttled.
    public mutating func recordThrottle(sentIn requestGeneration: Int) -> Change {
        // Sent before the limit was last lowered: that congestion was answered already.
        guard requestGeneration == generation else { return .unchanged }
        generation += 1
        successes = 0
        let lowered = max(1, Int((Double(current) * decreaseFactor).rounded(.down)))
        guard lowered < current else { return .unchanged }
        let from = current
        current = lowered
        decreases += 1
        lowest = min(lowest, current)
        return .decreased(from: from, to: current)
    }

    /// A request succeeded.
    public mutating func recordSuccess() -> Change {
        guard current < maximum else {
            successes = 0
            return .unchanged
        }
        successes += 1
        guard successes >= successesPerIncrease else { return .unchanged }
        successes = 0
        current += 1
        increases += 1
        if current == maximum { recoveries += 1 }
        return .increased(from: current - 1, to: current)
    }
}
