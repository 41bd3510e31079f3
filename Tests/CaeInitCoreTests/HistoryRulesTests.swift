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

/// The SPEC §4 edges as laid out in Fixtures/dossier-history.json, checked with the core alone.
@Suite struct FixtureHistoryTests {
    static let entite = "7e9030b3-40e9-4726-8d8c-9bfbadc59844"

    @Test func historyFixtureSelectsExactlyTheExpectedFiles() throws {
        let fixture = try DossierFixture.parse(try fixtureText("dossier-history.json"))
        let files = try initialisationFiles(fixture, withHistory: true)
        let e = Self.entite
        #expect(files.keys.sorted() == [
            // J1: [.., T1) is not valid at T1; [T1, T2) is (starts on T1); current from T2.
            "\(e)/journal/1a8793c7-02a1-4e83-aa49-074d0021bf4a_1727740800000.json",
            "\(e)/journal/1a8793c7-02a1-4e83-aa49-074d0021bf4a_1735689600000.json",
            // J2 created after every date: its current version only. J3 deleted before T1: nothing.
            "\(e)/journal/a2000000-0000-4000-8000-000000000002_1743465601000.json",
            // J4 deleted after T2, valid at T1 and T2: written once.
            "\(e)/journal/a2000000-0000-4000-8000-000000000004_1720000000000.json",
            // C1: T1 and T3 fall in gaps; T2 selects the middle version.
            "\(e)/compte/c1000000-0000-4000-8000-000000000001_1730000000000.json",
            "\(e)/compte/c1000000-0000-4000-8000-000000000001_1745000000000.json",
            "\(e)/compte/c1000000-0000-4000-8000-000000000002_1600000000000.json",
            "\(e)/compte/c1000000-0000-4000-8000-000000000003_1600000000000.json",
            "\(e)/ecriture/e1000000-0000-4000-8000-000000000001_1730000000000.json",
            // E2: its first version is valid at T1 and T2 (written once), then the current one.
            "\(e)/ecriture/e1000000-0000-4000-8000-000000000002_1727740795000.json",
            "\(e)/ecriture/e1000000-0000-4000-8000-000000000002_1735689600001.json",
            "\(e)/ecriture/e1000000-0000-4000-8000-000000000003_1730000000000.json",
        ].sorted())
    }

    @Test func documentsCarryValuesExactly() throws {
        let fixture = try DossierFixture.parse(try fixtureText("dossier-history.json"))
        let files = try initialisationFiles(fixture, withHistory: true)
        let e = Self.entite
        #expect(files["\(e)/journal/1a8793c7-02a1-4e83-aa49-074d0021bf4a_1727740800000.json"] ==
            #"{"entite_id":"7e9030b3-40e9-4726-8d8c-9bfbadc59844","application_id":"1999353e-52d1-4598-b76e-6fcbd15620fe","timestamp":1727740800000,"id":"1a8793c7-02a1-4e83-aa49-074d0021bf4a","code":"OD1","libelle":"Opérations diverses","compteContrepartie_id":null,"typeContrepartie":1,"type":2,"ferme":false,"validFrom":1727740800000,"validTo":1735689600000}"#)
        #expect(files["\(e)/ecriture/e1000000-0000-4000-8000-000000000001_1730000000000.json"] ==
            #"{"entite_id":"7e9030b3-40e9-4726-8d8c-9bfbadc59844","application_id":"1999353e-52d1-4598-b76e-6fcbd15620fe","timestamp":1730000000000,"id":"e1000000-0000-4000-8000-000000000001","journal_id":"1a8793c7-02a1-4e83-aa49-074d0021bf4a","dateEcriture":1729987200000,"numeroPiece":"P-0001","libelle":"Facture n°1 — été","lignes":[{"compte_id":"c1000000-0000-4000-8000-000000000002","libelle":"Client","debit":9999999999999999.99,"credit":0.00},{"compte_id":"c1000000-0000-4000-8000-000000000001","libelle":"Banque","debit":0.00,"credit":9999999999999999.99}],"validFrom":1730000000000,"validTo":0}"#)
        #expect(files["\(e)/compte/c1000000-0000-4000-8000-000000000003_1600000000000.json"]?.contains(#""libelle":"Fournisseurs \"divers\"\\ \t tab\nnew line \u0001\u001f end""#) == true)
        #expect(files["\(e)/compte/c1000000-0000-4000-8000-000000000002_1600000000000.json"]?.contains(#""libelle":"Clients — créances « export » 日本 🧾""#) == true)
        #expect(files["\(e)/ecriture/e1000000-0000-4000-8000-000000000003_1730000000000.json"] ==
            #"{"entite_id":"7e9030b3-40e9-4726-8d8c-9bfbadc59844","application_id":"1999353e-52d1-4598-b76e-6fcbd15620fe","timestamp":1730000000000,"id":"e1000000-0000-4000-8000-000000000003","journal_id":"1a8793c7-02a1-4e83-aa49-074d0021bf4a","dateEcriture":1729987200000,"numeroPiece":null,"libelle":null,"lignes":[{"compte_id":null,"libelle":null,"debit":1.10,"credit":null}],"validFrom":1730000000000,"validTo":0}"#)
    }

    @Test func withoutHistoryOnlyCurrentVersions() throws {
        let fixture = try DossierFixture.parse(try fixtureText("dossier-history.json"))
        let files = try initialisationFiles(fixture, withHistory: false)
        #expect(files.count == 8)
        #expect(files.values.allSatisfy { $0.hasSuffix(#""validTo":0}"#) })
    }

    @Test func filtersKeepOnlyMatchingDocuments() throws {
        let fixture = try DossierFixture.parse(try fixtureText("dossier-history.json"))
        let files = try initialisationFiles(fixture, withHistory: true, filter: DocumentFilter(JSONObject([("code", "OD1")])))
        #expect(files.keys.sorted() == ["\(Self.entite)/journal/1a8793c7-02a1-4e83-aa49-074d0021bf4a_1727740800000.json"])
        let byType = try initialisationFiles(fixture, withHistory: false, filter: DocumentFilter(JSONObject([("type", .number("2.0")), ("ferme", false)])))
        #expect(byType.keys.sorted().map { $0.split(separator: "/")[1] } == ["journal", "journal"])
    }
}
