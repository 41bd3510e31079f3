import CaeInitCore
import Testing

/// The figures `cae-init status` and `run-once` show for a pending filter: share done, rate, time left.
@Suite struct ProgressEstimateTests {
    @Test func noRateBeforeAnyTimeHasPassed() {
        #expect(ProgressEstimate(written: 10, total: 100, elapsedMilliseconds: 0).rate == nil)
        #expect(ProgressEstimate(written: 10, total: 100, elapsedMilliseconds: 1).rate == 10_000)
    }

    @Test func rateIsVersionsPerSecond() {
        #expect(ProgressEstimate(written: 3_000, total: 9_000, elapsedMilliseconds: 2_000).rate == 1_500)
    }

    @Test func timeLeftNeedsSomethingWritten() {
        #expect(ProgressEstimate(written: 0, total: 100, elapsedMilliseconds: 5_000).remainingMilliseconds == nil)
        #expect(ProgressEstimate(written: 1, total: 100, elapsedMilliseconds: 5_000).remainingMilliseconds == 495_000)
    }

    @Test func timeLeftIsZeroExactlyWhenAllIsWritten() {
        #expect(ProgressEstimate(written: 100, total: 100, elapsedMilliseconds: 5_000).remainingMilliseconds == 0)
        #expect(ProgressEstimate(written: 99, total: 100, elapsedMilliseconds: 9_900).remainingMilliseconds == 100)
        // Nothing to write: done at once, even before any time has passed.
        #expect(ProgressEstimate(written: 0, total: 0, elapsedMilliseconds: 0).remainingMilliseconds == 0)
    }

    @Test func fractionNeedsATotalAndNeverPassesOne() {
        #expect(ProgressEstimate(written: 0, total: 0, elapsedMilliseconds: 1).fraction == nil)
        #expect(ProgressEstimate(written: 1, total: 1, elapsedMilliseconds: 1).fraction == 1)
        #expect(ProgressEstimate(written: 1, total: 4, elapsedMilliseconds: 1).fraction == 0.25)
        #expect(ProgressEstimate(written: 5, total: 4, elapsedMilliseconds: 1).fraction == 1)
    }

    @Test func estimatedEndIsWhenTheFiguresWereTakenPlusTheTimeLeft() {
        let estimate = ProgressEstimate(written: 50, total: 100, elapsedMilliseconds: 10_000)
        #expect(estimate.estimatedEnd(takenAt: 1_000_000) == 1_010_000)
        #expect(ProgressEstimate(written: 0, total: 100, elapsedMilliseconds: 10_000).estimatedEnd(takenAt: 1_000_000) == nil)
    }

    @Test func summaryShowsOnlyWhatCanBeTold() {
        #expect(ProgressEstimate(written: 1_234, total: 5_000, elapsedMilliseconds: 2_000).summary == "1234/5000 (24%), 617/s, about 7 s left")
        #expect(ProgressEstimate(written: 0, total: 5_000, elapsedMilliseconds: 0).summary == "0/5000 (0%)")
    }

    @Test(arguments: [
        (Int64(0), "0 s"), (59_000, "59 s"), (59_001, "1 min 00 s"), (60_000, "1 min 00 s"),
        (3_599_000, "59 min 59 s"), (3_600_000, "1 h 00 min"), (7_620_000, "2 h 07 min"),
    ])
    func durationsRoundUpToTheSecond(milliseconds: Int64, text: String) {
        #expect(ProgressEstimate.duration(milliseconds: milliseconds) == text)
    }
}
