import CaeInitCore
import Testing

@Suite struct HistoryRulesTests {
    let rules = HistoryRules(referenceDates: [100, 200, 300])

    @Test func aVersionIsSelectedWhenValidAtSomeReferenceDate() {
        #expect(rules.selectsHistoryVersion(validFrom: 100, validTo: 101))   // starts exactly on a date
        #expect(!rules.selectsHistoryVersion(validFrom: 50, validTo: 100))   // ends exactly on a date: excluded
        #expect(rules.selectsHistoryVersion(validFrom: 50, validTo: 250))    // covers two dates: one version
        #expect(!rules.selectsHistoryVersion(validFrom: 101, validTo: 200))  // between two dates
        #expect(!rules.selectsHistoryVersion(validFrom: 301, validTo: 400))  // after every date
        #expect(!rules.selectsHistoryVersion(validFrom: 0, validTo: 50))     // before every date
        #expect(HistoryRules(referenceDates: []).selectsHistoryVersion(validFrom: 0, validTo: 1000) == false)
    }

    @Test func selectWritesTheCurrentVersionAndValidHistoryOnce() throws {
        let chain = [version(0, 100), version(100, 200), version(200, 250), version(250, 0)]
        let selected = try rules.select(chain: chain, withHistory: true)
        #expect(selected.map { "\($0.0.validFrom):\($0.1.rawValue)" } == ["100:history", "200:history", "250:snapshot"])
        #expect(try rules.select(chain: chain, withHistory: false).map(\.0.validFrom) == [250])
    }

    @Test func anObjectDeletedAfterADateGivesItsVersionAtThatDate() throws {
        let selected = try rules.select(chain: [version(150, 220)], withHistory: true)
        #expect(selected.map(\.1) == [.history])
    }

    @Test func anObjectCreatedAfterOrDeletedBeforeGivesNothing() throws {
        #expect(try rules.select(chain: [version(10, 90)], withHistory: true).isEmpty)
        #expect(try rules.select(chain: [version(301, 0)], withHistory: true).map(\.1) == [.snapshot])
    }

    @Test func aCurrentVersionValidAtADateIsNotWrittenAsHistory() throws {
        #expect(try rules.select(chain: [version(50, 0)], withHistory: true).map(\.1) == [.snapshot])
    }

    @Test(arguments: [
        ([version(0, 150), version(100, 0)], "overlapping versions: [0, 150) and [100, current)"),
        ([version(0, 0), version(100, 200)], "after its current version"),
        ([version(100, 150), version(100, 200)], "two versions with validFrom 100"),
        ([version(100, 100)], "not before its validTo 100"),
        ([version(200, 100), version(300, 0)], "not before its validTo 100"),
    ])
    func brokenHistoryIsRefusedNamingTheObject(chain: [ObjectVersion], reason: String) {
        #expect {
            _ = try rules.select(chain: chain, withHistory: true)
        } throws: { error in
            let description = "\(error)"
            return description.contains("journal 00000000-0000-4000-8000-000000000001") && description.contains(reason)
        }
    }

    @Test func gapsAreNotBroken() throws {
        #expect(try rules.select(chain: [version(0, 90), version(110, 210), version(260, 0)], withHistory: true).map(\.0.validFrom) == [110, 260])
    }

    @Test func grouperEmitsOneChainPerObject() {
        var grouper = VersionChainGrouper()
        var chains: [[ObjectVersion]] = []
        for v in [version("a", 0, 1), version("a", 1, 0), version("b", 0, 0), version("c", 5, 6)] {
            if let chain = grouper.add(v) { chains.append(chain) }
        }
        if let chain = grouper.finish() { chains.append(chain) }
        #expect(chains.map { $0.map(\.id) } == [["a", "a"], ["b"], ["c"]])
        #expect(grouper.finish() == nil)
    }

    /// The history read merges two index scans on id alone: an object's current version may come before its
    /// history versions, and the chain must still be in validFrom order.
    @Test func grouperSortsEachChainByValidFrom() throws {
        var grouper = VersionChainGrouper()
        var chains: [[ObjectVersion]] = []
        for v in [version("a", 30, 0), version("a", 10, 20), version("a", 20, 30), version("b", 5, 0), version("b", 1, 5)] {
            if let chain = grouper.add(v) { chains.append(chain) }
        }
        if let chain = grouper.finish() { chains.append(chain) }
        #expect(chains.map { $0.map(\.validFrom) } == [[10, 20, 30], [1, 5]])
        #expect(try rules.select(chain: chains[0], withHistory: true).map(\.0.validFrom).contains(30))
    }
}
