import CaeInitCore
import Testing

/// Issue 9: the requests a remote sink keeps in flight, multiplied down by a throttle, one up per N successes.
@Suite struct AdaptiveLimitTests {
    @Test func startsAtItsMaximumAndNeverBelowOne() {
        #expect(AdaptiveLimit(maximum: 32).current == 32)
        #expect(AdaptiveLimit(maximum: 0).current == 1)
        #expect(AdaptiveLimit(maximum: 1).current == 1)
    }

    @Test func aThrottleHalvesTheLimitRoundingDown() {
        var limit = AdaptiveLimit(maximum: 32)
        #expect(limit.recordThrottle(sentIn: 0) == .decreased(from: 32, to: 16))
        #expect(limit.recordThrottle(sentIn: 1) == .decreased(from: 16, to: 8))
        var odd = AdaptiveLimit(maximum: 5)
        #expect(odd.recordThrottle(sentIn: 0) == .decreased(from: 5, to: 2))
        #expect(odd.lowest == 2 && odd.decreases == 1)
    }

    @Test func theLimitStopsAtOne() {
        // 3 → 1 (1.5 rounded down), 2 → 1, and at 1 a throttle changes nothing.
        var three = AdaptiveLimit(maximum: 3)
        #expect(three.recordThrottle(sentIn: 0) == .decreased(from: 3, to: 1))
        var two = AdaptiveLimit(maximum: 2)
        #expect(two.recordThrottle(sentIn: 0) == .decreased(from: 2, to: 1))
        #expect(two.recordThrottle(sentIn: 1) == .unchanged)
        #expect(two.current == 1 && two.lowest == 1 && two.decreases == 1)
    }

    @Test func aThrottleOfARequestSentBeforeTheLastDecreaseIsIgnored() {
        var limit = AdaptiveLimit(maximum: 32)
        _ = limit.recordThrottle(sentIn: 0)
        // Requests in flight when the first throttle came: the same congestion, already answered.
        #expect(limit.recordThrottle(sentIn: 0) == .unchanged)
        #expect(limit.current == 16)
        // A request sent after the decrease and throttled again: lowered again.
        #expect(limit.recordThrottle(sentIn: 1) == .decreased(from: 16, to: 8))
        #expect(limit.generation == 2)
    }

    @Test func oneUpPerNSuccessesNotBefore() {
        var limit = AdaptiveLimit(maximum: 4, successesPerIncrease: 3)
        _ = limit.recordThrottle(sentIn: 0)
        #expect(limit.current == 2)
        #expect(limit.recordSuccess() == .unchanged)
        #expect(limit.recordSuccess() == .unchanged)  // N - 1 successes: not yet
        #expect(limit.recordSuccess() == .increased(from: 2, to: 3))  // the N-th
        #expect(limit.successes == 0)
    }

    @Test func neverAboveTheMaximum() {
        var limit = AdaptiveLimit(maximum: 4, successesPerIncrease: 1)
        _ = limit.recordThrottle(sentIn: 0)
        #expect(limit.recordSuccess() == .increased(from: 2, to: 3))
        #expect(limit.recordSuccess() == .increased(from: 3, to: 4))  // maximum - 1 → maximum
        #expect(limit.recordSuccess() == .unchanged)  // at the maximum
        #expect(limit.current == 4 && limit.recoveries == 1 && limit.increases == 2)
    }

    @Test func successesAtTheMaximumDoNotBankAClimb() {
        var limit = AdaptiveLimit(maximum: 4, successesPerIncrease: 2)
        for _ in 0..<10 { _ = limit.recordSuccess() }
        #expect(limit.successes == 0)
        _ = limit.recordThrottle(sentIn: 0)
        #expect(limit.recordSuccess() == .unchanged)
        #expect(limit.recordSuccess() == .increased(from: 2, to: 3))
    }

    @Test func aThrottleRestartsTheCountOfSuccesses() {
        var limit = AdaptiveLimit(maximum: 8, successesPerIncrease: 2)
        _ = limit.recordThrottle(sentIn: 0)
        _ = limit.recordSuccess()
        _ = limit.recordThrottle(sentIn: 1)
        #expect(limit.current == 2)
        #expect(limit.recordSuccess() == .unchanged)
        #expect(limit.recordSuccess() == .increased(from: 2, to: 3))
    }
}
