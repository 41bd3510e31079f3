import CaeInitCore
import Testing

private let entite = "7e9030b3-40e9-4726-8d8c-9bfbadc59844"
private let journalId = "1a8793c7-02a1-4e83-aa49-074d0021bf4a"

/// A journal document as SPEC §4 builds it, with some fields replaced or removed.
private func journalDocument(validFrom: String = "1734684480000", validTo: String = "0", replacing changes: [String: JSONValue?] = [:]) -> String {
    var object = JSONObject()
    object.appendUnchecked("entite_id", .string(entite))
    object.appendUnchecked("application_id", .string("1999353e-52d1-4598-b76e-6fcbd15620fe"))
    object.appendUnchecked("timestamp", .number(validFrom))
    object.appendUnchecked("id", .string(journalId))
    object.appendUnchecked("code", .string("OD3"))
    object.appendUnchecked("libelle", .string("Opérations diverses"))
    object.appendUnchecked("compteContrepartie_id", .null)
    object.appendUnchecked("typeContrepartie", .number("1"))
    object.appendUnchecked("type", .number("2"))
    object.appendUnchecked("ferme", .bool(false))
    object.appendUnchecked("validFrom", .number(validFrom))
    object.appendUnchecked("validTo", .number(validTo))
    for (key, value) in changes {
        object[key] = value
    }
    return JSONValue.object(object).serialized()
}

private func event(_ value: String?, kind: String? = "journal", topic: String = "queuing.cpa.comptabilite", partition: Int32 = 3, offset: Int64 = 42) -> LiveEvent {
    LiveEvent(topic: topic, partition: partition, offset: offset, key: entite, kindHeader: kind, value: value.map { Array($0.utf8) })
}

private func reason(_ event: LiveEvent) -> String? {
    do {
        _ = try event.content()
        return nil
    } catch {
        return error.description
    }
}

@Suite struct LiveEventKeyTests {
    @Test func aUUIDKeyIsReadInCanonicalForm() {
        #expect(LiveEvent.key(from: Array(entite.uppercased().utf8)) == entite)
        #expect(LiveEvent.key(from: Array(entite.utf8)) == entite)
    }

    @Test func aMissingOrNonUUIDKeyConcernsNoSubscription() {
        #expect(LiveEvent.key(from: nil) == nil)
        #expect(LiveEvent.key(from: Array("ACME".utf8)) == nil)
        #expect(LiveEvent.key(from: [0xff, 0xfe]) == nil)
        #expect(LiveEvent.key(from: Array(entite.dropLast().utf8)) == nil)
    }
}

@Suite struct LiveEventContentTests {
    @Test func aKindHeaderMakesAnObjectVersionEvent() throws {
        let content = try event(journalDocument()).content()
        let version = try #require(content.version)
        #expect(version.kind == .journal && version.id == journalId && version.validFrom == 1734684480000 && version.validTo == 0)
        #expect(version == DossierDocumentRoundTrip.version(of: content.document))
    }

    @Test(arguments: [nil, "", "Journal", "situation", "ecritures"] as [String?])
    func anyOtherKindIsAPlainEvent(kind: String?) throws {
        let content = try event(journalDocument(), kind: kind).content()
        #expect(content.version == nil)
        #expect(content.document["code"] == .string("OD3"))
    }

    @Test(arguments: ObjectKind.allCases)
    func eachKindHeaderIsRecognised(kind: ObjectKind) {
        #expect(event("{}", kind: kind.rawValue).objectKind == kind)
    }

    @Test func valuesThatAreNoJSONObjectAreRefused() {
        #expect(reason(event(nil)) == "the message has no value (a tombstone)")
        #expect(reason(event("[1]", kind: nil)) == "the value is an array, not a JSON object")
        #expect(reason(event("{\"a\":", kind: nil))?.hasPrefix("the value is not JSON") == true)
        #expect(reason(event("{}", kind: nil)) == nil)
    }

    @Test func idMustBeAUUID() {
        #expect(reason(event(journalDocument(replacing: ["id": .string("not-a-uuid")])))?.contains("id is missing or not a UUID") == true)
        #expect(reason(event(journalDocument(replacing: ["id": nil])))?.contains("id is missing or not a UUID") == true)
        #expect(reason(event(journalDocument(replacing: ["id": .string(journalId.uppercased())]))) == nil)
    }

    @Test func validFromAndValidToMustBeNonNegativeIntegers() {
        #expect(reason(event(journalDocument(validFrom: "1.5")))?.contains("validFrom is missing or not an integer") == true)
        #expect(reason(event(journalDocument(replacing: ["validFrom": .string("1")])))?.contains("validFrom is missing or not an integer") == true)
        #expect(reason(event(journalDocument(validFrom: "-1")))?.contains("validFrom is negative") == true)
        #expect(reason(event(journalDocument(validFrom: "0"))) == nil)
        #expect(reason(event(journalDocument(replacing: ["validTo": nil])))?.contains("validTo is missing or not an integer") == true)
        #expect(reason(event(journalDocument(validTo: "-1")))?.contains("validTo is negative") == true)
    }

    @Test func validToIsZeroOrAfterValidFrom() {
        #expect(reason(event(journalDocument(validFrom: "100", validTo: "100")))?.contains("validTo must be 0 (current) or after validFrom") == true)
        #expect(reason(event(journalDocument(validFrom: "100", validTo: "99")))?.contains("validTo must be 0") == true)
        #expect(reason(event(journalDocument(validFrom: "100", validTo: "101"))) == nil)
        #expect(reason(event(journalDocument(validFrom: "100", validTo: "0"))) == nil)
    }

    @Test func entiteIdMustBeTheMessageKey() {
        #expect(reason(event(journalDocument(replacing: ["entite_id": .string("00000000-0000-4000-8000-000000000001")])))?.contains("entite_id is not the message key") == true)
        #expect(reason(event(journalDocument(replacing: ["entite_id": nil])))?.contains("entite_id is not the message key") == true)
        #expect(reason(event(journalDocument(replacing: ["entite_id": .string(entite.uppercased())]))) == nil)
    }
}

/// The version a document describes, rebuilt through `DossierDocument` to check the fields were read in order.
private enum DossierDocumentRoundTrip {
    static func version(of document: JSONObject) -> ObjectVersion {
        let kind = ObjectKind.journal
        return ObjectVersion(
            kind: kind, id: document["id"]!.stringValue!, validFrom: 1734684480000, validTo: 0,
            fields: kind.fields.map { document[$0.name]! }
        )
    }
}

@Suite struct LiveEventNamingTests {
    let naming = ObjectNaming(folderProperty: "entite_id")

    @Test func anObjectVersionEventTakesTheInitialisationsName() throws {
        let e = event(journalDocument())
        let content = try e.content()
        let version = try #require(content.version)
        let initialisationName = try naming.objectName(of: DossierDocument.build(entiteId: entite, version: version), version: version)
        #expect(try LiveEventNaming.objectName(of: e, content: content, naming: naming) == initialisationName)
        #expect(initialisationName == "\(entite)/journal/\(journalId)_1734684480000.json")
    }

    @Test func anEndedVersionKeepsItsName() throws {
        let current = event(journalDocument(validFrom: "100", validTo: "0"))
        let ended = event(journalDocument(validFrom: "100", validTo: "200"), offset: 43)
        #expect(try LiveEventNaming.objectName(of: current, content: current.content(), naming: naming)
            == LiveEventNaming.objectName(of: ended, content: ended.content(), naming: naming))
    }

    @Test func aPlainEventIsNamedByTopicPartitionAndPaddedOffset() throws {
        let e = event(#"{"entite_id":"\#(entite)","x":1}"#, kind: "situation", topic: "queuing.cpa.other", partition: 7, offset: 1234)
        #expect(try LiveEventNaming.objectName(of: e, content: e.content(), naming: naming) == "\(entite)/queuing.cpa.other/7-00000000000000001234.json")
    }

    @Test func offsetsArePaddedToTwentyDigits() {
        #expect(LiveEventNaming.paddedOffset(0) == "00000000000000000000")
        #expect(LiveEventNaming.paddedOffset(Int64.max) == "09223372036854775807")
        #expect(LiveEventNaming.paddedOffset(Int64.max).count == 20)
    }

    @Test(arguments: [
        (nil, "is missing"), (JSONValue.string(".."), "is '..'"), (JSONValue.string("a/b"), "contains '/'"),
        (JSONValue.string(""), "is empty"), (JSONValue.null, "is null"),
    ] as [(JSONValue?, String)])
    func anUnsafeFolderIsRefusedForPlainAndObjectEvents(value: JSONValue?, expected: String) throws {
        let naming = ObjectNaming(folderProperty: "societe")
        var plain = JSONObject([("entite_id", .string(entite))])
        if let value { plain["societe"] = value }
        let plainEvent = event(JSONValue.object(plain).serialized(), kind: nil)
        let objectEvent = event(journalDocument(replacing: ["societe": value]))
        for e in [plainEvent, objectEvent] {
            #expect {
                _ = try LiveEventNaming.objectName(of: e, content: e.content(), naming: naming)
            } throws: { error in
                "\(error)" == "folderName property 'societe' \(expected)"
            }
        }
    }

    @Test func aGoodFolderIsUsed() throws {
        let e = event(journalDocument(replacing: ["societe": .string("ACME")]))
        #expect(try LiveEventNaming.objectName(of: e, content: e.content(), naming: ObjectNaming(folderProperty: "societe")) == "ACME/journal/\(journalId)_1734684480000.json")
    }
}

@Suite struct LiveEventRoutingTests {
    let topic = "queuing.cpa.comptabilite"
    let document = JSONObject([("entite_id", .string(entite)), ("code", .string("OD3")), ("type", .number("2"))])

    func subscriber(topics: [String]? = nil, suspended: Bool = false, status: KeyFilterStatus? = .ready, filters: JSONObject = JSONObject()) -> LiveEventSubscriber {
        LiveEventSubscriber(topics: topics ?? [topic], suspended: suspended, keyStatus: status, filter: DocumentFilter(filters))
    }

    @Test func aReadyKeyIsWrittenANewOrPendingKeyKeptAFailedOrAbsentKeyIgnored() {
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(status: .ready)) == .write)
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(status: .new)) == .keep)
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(status: .pending)) == .keep)
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(status: .failed)) == .ignore(.keyFailed))
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(status: nil)) == .ignore(.keyAbsent))
    }

    @Test func theTopicMustBeListed() {
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(topics: ["other", topic])) == .write)
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(topics: ["other"])) == .ignore(.topicNotListed))
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(topics: [])) == .ignore(.topicNotListed))
        #expect(LiveEventRouting.action(topic: topic + "x", document: document, subscriber: subscriber()) == .ignore(.topicNotListed))
    }

    @Test func aSuspendedSubscriptionTakesNothingNotEvenToKeep() {
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(suspended: true)) == .ignore(.suspended))
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(suspended: true, status: .new)) == .ignore(.suspended))
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(suspended: false)) == .write)
    }

    @Test func filtersMustMatchTheValue() {
        let matching = JSONObject([("code", .string("OD3")), ("type", .number("2.0"))])
        let different = JSONObject([("code", .string("OD4"))])
        let absent = JSONObject([("societe", .string("ACME"))])
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(filters: matching)) == .write)
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(filters: different)) == .ignore(.filtersDoNotMatch))
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(filters: absent)) == .ignore(.filtersDoNotMatch))
        #expect(LiveEventRouting.action(topic: topic, document: document, subscriber: subscriber(status: .new, filters: different)) == .ignore(.filtersDoNotMatch))
    }
}

@Suite struct StaleEventGuardTests {
    func version(validTo: Int64) -> ObjectVersion {
        ObjectVersion(kind: .compte, id: journalId, validFrom: 100, validTo: validTo, fields: Array(repeating: .null, count: ObjectKind.compte.fields.count))
    }

    @Test func aCurrentEventIsSkippedOnlyWhenTheDatabaseHoldsTheVersionEnded() {
        #expect(StaleEventGuard.shouldWrite(version(validTo: 0), databaseHoldsEnded: true) == false)
        #expect(StaleEventGuard.shouldWrite(version(validTo: 0), databaseHoldsEnded: false) == true)
    }

    @Test func anEndedEventIsAlwaysWritten() {
        #expect(StaleEventGuard.shouldWrite(version(validTo: 101), databaseHoldsEnded: true) == true)
        #expect(StaleEventGuard.shouldWrite(version(validTo: 101), databaseHoldsEnded: false) == true)
        #expect(StaleEventGuard.shouldWrite(version(validTo: 1), databaseHoldsEnded: true) == true)
    }
}
