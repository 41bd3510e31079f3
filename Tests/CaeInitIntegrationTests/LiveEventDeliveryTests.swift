import AsyncHTTPClient
import CaeInitCore
import CaeInitKafka
import CaeInitPostgres
@testable import CaeInitSinkService
import CaeInitSinks
import CaeInitStore
import CaeInitTestSupport
import Foundation
import Logging
import Testing

// MARK: Shared by the live-event tests

let liveTopic = "queuing.cpa.comptabilite"
let liveApplicationId = "1999353e-52d1-4598-b76e-6fcbd15620fe"

/// One live-event test's world: a migrated database, a temporary directory, a delivery whose Local Directory sinks
/// log each write (in order) to `auditLog`.
struct LiveWorld {
    let database: String
    let directory: TemporaryDirectory
    let delivery: LiveEventDelivery
    let auditLog: String

    static func make(_ label: String) async throws -> LiveWorld {
        let database = try await TestDatabase.create(label)
        let directory = TemporaryDirectory()
        let auditLog = directory.file("audit.log")
        let logger = Logger(label: "cae-init.test.live")
        let delivery = LiveEventDelivery(
            storeConninfo: database, sinkFactory: SinkFactory(httpClient: .shared, logger: logger, localAuditLogPath: auditLog), logger: logger
        )
        return LiveWorld(database: database, directory: directory, delivery: delivery, auditLog: auditLog)
    }

    func finish() async {
        await delivery.shutdown()
        directory.remove()
    }

    /// Creates a subscription from its JSON body (through the store, as the API does); returns its id.
    func subscribe(_ body: String) async throws -> String {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        return try await SubscriptionStore(connection: connection).create(Subscription.parseCreation(JSONValue.parse(body))).id
    }

    /// Puts a key filter in a status directly (a pending one with a claim, as the table requires).
    func setStatus(_ subscriptionId: String, _ key: String, _ status: KeyFilterStatus) async throws {
        let claim = status == .pending ? "gen_random_uuid()" : "NULL"
        let lease = status == .pending ? "now() + interval '1 hour'" : "NULL"
        let result = try await sql(
            "UPDATE cae_key_filter SET status = $3, claim_id = \(claim), lease_expires_at = \(lease) WHERE subscription_id = $1 AND key = $2::uuid",
            [subscriptionId, key, status.rawValue], database: database)
        if result.affectedRows != 1 { throw TestFailure("no key filter \(subscriptionId)/\(key)") }
    }

    /// A secret moto refuses, so that its subscription's writes fail (and must never be echoed).
    static let wrongSecret = "WRONGSECRETVALUE0123456789"

    /// Two ready subscriptions of `key`: a Local Directory under `out`, and `bucket` signed with `wrongSecret`.
    func localAndRefusingS3(_ key: String, bucket: LiveBucket) async throws -> (local: String, s3: String) {
        let local = try await subscribe(liveLocalBody(path: directory.file("out"), keys: [key]))
        let s3 = try await subscribe(bucket.subscriptionBody(keys: [key], secret: Self.wrongSecret))
        try await setStatus(local, key, .ready)
        try await setStatus(s3, key, .ready)
        return (local, s3)
    }

    func keptCount(_ subscriptionId: String, _ key: String) async throws -> Int {
        Int(try await sql("SELECT count(*) FROM cae_live_event_kept WHERE subscription_id = $1 AND key = $2::uuid", [subscriptionId, key], database: database).scalar() ?? "") ?? -1
    }

    func deadLetters(_ subscriptionId: String? = nil) async throws -> [DeadLetter] {
        let connection = try await PostgresConnection.connect(database)
        defer { Task { await connection.close() } }
        return try await DeadLetterStore(connection: connection).list(subscriptionId: subscriptionId)
    }

    /// The object names written to the Local Directory sinks, in write order.
    func writeOrder() -> [String] {
        guard let text = try? String(contentsOfFile: auditLog, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            return parts.count == 3 && parts[2] != "(flush)" ? String(parts[2]) : nil
        }
    }

    /// The files under a Local Directory sink's path, temporary ones aside.
    func files(_ sub: String) -> [String: [UInt8]] {
        directory.files(under: sub).filter { !$0.key.hasPrefix(".partial/") }
    }
}

/// A subscription body with a Local Directory sink under `path`.
func liveLocalBody(path: String, keys: [String], topics: [String] = [liveTopic], folderName: String? = nil, filters: String? = nil, suspended: Bool = false) -> String {
    let keyFilters = keys.map { #"{"key":"\#($0)"}"# }.joined(separator: ",")
    let folder = folderName.map { #","folderName":"\#($0)""# } ?? ""
    let filtersField = filters.map { #","filters":\#($0)"# } ?? ""
    let topicList = topics.map { "\"\($0)\"" }.joined(separator: ",")
    return #"{"domain":"comptabilite","keyFilters":[\#(keyFilters)],"suspended":\#(suspended),"sink":{"type":"Local Directory","credentials":{},"options":{"path":"\#(path)"\#(folder)},"retryPolicy":{"maxRetries":1,"backoffSeconds":0.05}},"topics":[\#(topicList)]\#(filtersField)}"#
}

/// moto's S3 (signatures checked) holding the live tests' bucket.
struct LiveBucket {
    static let name = "live-bucket"
    let moto: ServerProcess
    let keyId: String
    let secret: String

    static func start() async throws -> LiveBucket {
        let (moto, keyId, secret) = try await Moto.start()
        let status = try await Moto.signedRequest(.PUT, port: moto.port, path: "/\(name)", keyId: keyId, secret: secret).status
        guard status == .ok else {
            moto.stop()
            throw TestFailure("cannot create the bucket \(name): \(status)")
        }
        return LiveBucket(moto: moto, keyId: keyId, secret: secret)
    }

    func stop() { moto.stop() }

    /// A subscription body with this bucket as its sink; `secret` replaces the right one (a refusing sink).
    func subscriptionBody(keys: [String], secret: String? = nil) -> String {
        liveS3Body(port: moto.port, keyId: keyId, secret: secret ?? self.secret, bucket: Self.name, keys: keys)
    }

    /// Reads the bucket back with the right key.
    func reader() throws -> S3Sink {
        let configuration = S3SinkConfiguration(accessKeyId: keyId, secretAccessKey: Secret(secret), region: "us-east-1", sessionToken: nil, bucketName: Self.name, endpoint: "http://127.0.0.1:\(moto.port)")
        return try S3Sink(configuration: SinkConfiguration(destination: .s3(configuration)), s3: configuration, httpClient: .shared)
    }
}

/// A subscription body with an S3 sink (moto).
func liveS3Body(port: Int, keyId: String, secret: String, bucket: String, keys: [String], topics: [String] = [liveTopic]) -> String {
    let keyFilters = keys.map { #"{"key":"\#($0)"}"# }.joined(separator: ",")
    let topicList = topics.map { "\"\($0)\"" }.joined(separator: ",")
    return #"{"domain":"comptabilite","keyFilters":[\#(keyFilters)],"sink":{"type":"AWS S3","credentials":{"accessKeyId":"\#(keyId)","secretAccessKey":"\#(secret)","region":"us-east-1"},"options":{"bucketName":"\#(bucket)","endpoint":"http://127.0.0.1:\#(port)"},"retryPolicy":{"maxRetries":1,"backoffSeconds":0.05}},"topics":[\#(topicList)]}"#
}

/// A journal version with simple fields.
func journalVersion(_ id: String, validFrom: Int64, validTo: Int64 = 0, code: String = "OD3") -> ObjectVersion {
    ObjectVersion(kind: .journal, id: id, validFrom: validFrom, validTo: validTo, fields: [
        .string(liveApplicationId), .string(code), .string("Opérations diverses"), .null, .number("1"), .number("2"), .bool(false),
    ])
}

/// The message of an object version: header `kind`, value its SPEC §4 document (with `extra` fields appended).
func objectMessage(_ version: ObjectVersion, key: String, offset: Int64, partition: Int32 = 0, topic: String = liveTopic, extra: [(String, JSONValue)] = []) -> KafkaMessage {
    var document = DossierDocument.build(entiteId: key, version: version)
    for (name, value) in extra { document[name] = value }
    return KafkaMessage(
        topic: topic, partition: partition, offset: offset, key: Array(key.utf8), value: JSONValue.object(document).serializedBytes(),
        headers: [KafkaHeader(name: "kind", value: Array(version.kind.rawValue.utf8))]
    )
}

func plainMessage(_ json: String, key: String?, offset: Int64, partition: Int32 = 0, topic: String = liveTopic, kind: String? = nil) -> KafkaMessage {
    KafkaMessage(
        topic: topic, partition: partition, offset: offset, key: key.map { Array($0.utf8) }, value: Array(json.utf8),
        headers: kind.map { [KafkaHeader(name: "kind", value: Array($0.utf8))] } ?? []
    )
}

func document(of message: KafkaMessage) -> [UInt8] { message.value ?? [] }

func newUUID() -> String { UUID().uuidString.lowercased() }

// MARK: Tests

/// `LiveEventDelivery.deliver` called directly (no Kafka) against PostgreSQL, Local Directory sinks and moto's S3.
@Suite("Live events: routing, hand-off and dead letters (delivery)", .serialized)
struct LiveEventDeliveryTests {
    @Test("ready is written, new and pending are kept, failed and absent keys and other topics get nothing")
    func routingByKeyStatusAndTopic() async throws {
        let world = try await LiveWorld.make("live_route")
        defer { Task { await world.finish() } }
        let (ready, new, pending, failed, absent) = (newUUID(), newUUID(), newUUID(), newUUID(), newUUID())
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [ready, new, pending, failed]))
        try await world.setStatus(id, ready, .ready)
        try await world.setStatus(id, pending, .pending)
        try await world.setStatus(id, failed, .failed)
        let journal = newUUID()

        func deliver(_ key: String, offset: Int64, topic: String = liveTopic) async throws -> [String: LiveEventDelivery.Outcome] {
            try await world.delivery.deliverReporting(objectMessage(journalVersion(journal, validFrom: 100), key: key, offset: offset, topic: topic))
        }
        let readyMessage = objectMessage(journalVersion(journal, validFrom: 100), key: ready, offset: 1)
        #expect(try await world.delivery.deliverReporting(readyMessage) == [id: .written(objectName: "\(ready)/journal/\(journal)_100.json")])
        #expect(try await deliver(new, offset: 2) == [id: .kept])
        #expect(try await deliver(pending, offset: 3) == [id: .kept])
        #expect(try await deliver(failed, offset: 4) == [id: .ignored(.keyFailed)])
        #expect(try await deliver(absent, offset: 5) == [:])
        #expect(try await deliver(ready, offset: 6, topic: "queuing.cpa.other") == [:])
        // No key, or a key that is no UUID: no subscription's key; skipped.
        #expect(try await world.delivery.deliverReporting(plainMessage("{}", key: nil, offset: 7)) == [:])
        #expect(try await world.delivery.deliverReporting(plainMessage("{}", key: "ACME", offset: 8)) == [:])

        #expect(world.files("out") == ["\(ready)/journal/\(journal)_100.json": document(of: readyMessage)])
        #expect(try await world.keptCount(id, new) == 1)
        #expect(try await world.keptCount(id, pending) == 1)
        #expect(try await world.keptCount(id, failed) == 0)
        #expect(try await world.deadLetters().isEmpty)
        // A redelivery overwrites the same object and keeps a kept event once.
        #expect(try await world.delivery.deliverReporting(readyMessage) == [id: .written(objectName: "\(ready)/journal/\(journal)_100.json")])
        #expect(try await deliver(new, offset: 2) == [id: .kept])
        #expect(try await world.keptCount(id, new) == 1)
        #expect(world.files("out").count == 1)
        #expect(try await world.delivery.activeTopics() == [liveTopic])
        // A value that can never be written (a tombstone) is dead-lettered for a key being initialised too, and
        // ignored for a failed one.
        let tombstone = { (key: String, offset: Int64) in KafkaMessage(topic: liveTopic, partition: 0, offset: offset, key: Array(key.utf8), value: nil) }
        #expect(try await world.delivery.deliverReporting(tombstone(new, 9)) == [id: .deadLettered(reason: "the message has no value (a tombstone)")])
        #expect(try await world.delivery.deliverReporting(tombstone(failed, 10)) == [id: .ignored(.keyFailed)])
        #expect(try await world.deadLetters().map(\.event.offset) == [9])
        #expect(try await world.keptCount(id, new) == 1)
    }

    @Test("a suspended subscription gets nothing (not even kept events); resumed, it gets the next ones")
    func suspendedSubscriptions() async throws {
        let world = try await LiveWorld.make("live_suspended")
        defer { Task { await world.finish() } }
        let (ready, new) = (newUUID(), newUUID())
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [ready, new], topics: [liveTopic, "t2"], suspended: true))
        try await world.setStatus(id, ready, .ready)
        #expect(try await world.delivery.activeTopics().isEmpty)
        #expect(try await world.delivery.deliverReporting(plainMessage(#"{"entite_id":"\#(ready)"}"#, key: ready, offset: 1)) == [:])
        #expect(try await world.delivery.deliverReporting(plainMessage(#"{"entite_id":"\#(new)"}"#, key: new, offset: 2)) == [:])
        #expect(try await world.keptCount(id, new) == 0)
        _ = try await sql("UPDATE cae_subscription SET suspended = false WHERE id = $1", [id], database: world.database)
        #expect(try await world.delivery.activeTopics() == [liveTopic, "t2"])
        #expect(try await world.delivery.deliverReporting(plainMessage(#"{"entite_id":"\#(ready)"}"#, key: ready, offset: 3)) == [id: .written(objectName: "\(ready)/\(liveTopic)/0-00000000000000000003.json")])
        #expect(world.files("out").keys.sorted() == ["\(ready)/\(liveTopic)/0-00000000000000000003.json"])
    }

    @Test("filters: a matching value is written or kept, another is not")
    func filters() async throws {
        let world = try await LiveWorld.make("live_filters")
        defer { Task { await world.finish() } }
        let (ready, new) = (newUUID(), newUUID())
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [ready, new], filters: #"{"code":"OD3","type":2}"#))
        try await world.setStatus(id, ready, .ready)
        let journal = newUUID()
        #expect(try await world.delivery.deliverReporting(objectMessage(journalVersion(journal, validFrom: 1, code: "OD3"), key: ready, offset: 1)) == [id: .written(objectName: "\(ready)/journal/\(journal)_1.json")])
        #expect(try await world.delivery.deliverReporting(objectMessage(journalVersion(journal, validFrom: 2, code: "OD4"), key: ready, offset: 2)) == [id: .ignored(.filtersDoNotMatch)])
        #expect(try await world.delivery.deliverReporting(objectMessage(journalVersion(journal, validFrom: 3, code: "OD4"), key: new, offset: 3)) == [id: .ignored(.filtersDoNotMatch)])
        #expect(try await world.delivery.deliverReporting(objectMessage(journalVersion(journal, validFrom: 4, code: "OD3"), key: new, offset: 4)) == [id: .kept])
        #expect(world.files("out").keys.sorted() == ["\(ready)/journal/\(journal)_1.json"])
        #expect(try await world.keptCount(id, new) == 1)
    }

    @Test("folderName: a good value names the folder; a missing value, '..' or 'a/b' dead-letters the message with the reason")
    func folderNames() async throws {
        let world = try await LiveWorld.make("live_folder")
        defer { Task { await world.finish() } }
        let key = newUUID()
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [key], folderName: "societe"))
        try await world.setStatus(id, key, .ready)
        let journal = newUUID()
        let good = objectMessage(journalVersion(journal, validFrom: 1), key: key, offset: 1, extra: [("societe", "ACME")])
        #expect(try await world.delivery.deliverReporting(good) == [id: .written(objectName: "ACME/journal/\(journal)_1.json")])
        let plain = plainMessage(#"{"societe":42,"what":"situation"}"#, key: key, offset: 2, kind: "situation")
        #expect(try await world.delivery.deliverReporting(plain) == [id: .written(objectName: "42/\(liveTopic)/0-00000000000000000002.json")])
        let missing = objectMessage(journalVersion(journal, validFrom: 3), key: key, offset: 3)
        #expect(try await world.delivery.deliverReporting(missing) == [id: .deadLettered(reason: "folderName property 'societe' is missing")])
        let dots = objectMessage(journalVersion(journal, validFrom: 4), key: key, offset: 4, extra: [("societe", "..")])
        #expect(try await world.delivery.deliverReporting(dots) == [id: .deadLettered(reason: "folderName property 'societe' is '..'")])
        let slash = plainMessage(#"{"societe":"a/b"}"#, key: key, offset: 5)
        #expect(try await world.delivery.deliverReporting(slash) == [id: .deadLettered(reason: "folderName property 'societe' contains '/'")])
        // A malformed document is dead-lettered too: it can never be written.
        let malformed = plainMessage(#"{"societe":"ACME","id":"x"}"#, key: key, offset: 6, kind: "journal")
        if case .deadLettered(let reason)? = try await world.delivery.deliverReporting(malformed)[id] {
            #expect(reason.contains("id is missing or not a UUID"))
        } else {
            Issue.record("a malformed journal document was not dead-lettered")
        }

        #expect(world.files("out") == ["ACME/journal/\(journal)_1.json": document(of: good), "42/\(liveTopic)/0-00000000000000000002.json": document(of: plain)])
        let letters = try await world.deadLetters(id)
        #expect(letters.map(\.event.offset) == [3, 4, 5, 6])
        #expect(letters.allSatisfy { $0.attempts == 1 && $0.event.key == key && $0.event.topic == liveTopic })
        #expect(letters[0].event.value == missing.value && letters[0].event.kindHeader == "journal")
        // Redelivered: the same row, one more attempt.
        _ = try await world.delivery.deliverReporting(missing)
        #expect(try await world.deadLetters(id).first?.attempts == 2)
    }

    @Test("stale-event guard: a current event of a version the database holds as ended is skipped; an ended event, or a current one still current, is written")
    func staleGuard() async throws {
        let world = try await LiveWorld.make("live_stale")
        defer { Task { await world.finish() } }
        let key = newUUID()
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [key]))
        try await world.setStatus(id, key, .ready)
        let journal = newUUID()
        // The database: version 100 ended at 200, version 200 current.
        let ended = journalVersion(journal, validFrom: 100, validTo: 200)
        let current = journalVersion(journal, validFrom: 200)
        let connection = try await PostgresConnection.connect(world.database)
        try await DossierStore(connection: connection).load([DossierFixture(entiteId: key, periods: [], versions: [.journal: [ended, current]])])
        await connection.close()

        let staleCurrent = objectMessage(journalVersion(journal, validFrom: 100), key: key, offset: 1)
        #expect(try await world.delivery.deliverReporting(staleCurrent) == [id: .skippedAsStale])
        // Either side of the history row's validFrom: not the ended version, so written.
        let before = objectMessage(journalVersion(journal, validFrom: 99), key: key, offset: 2)
        let after = objectMessage(journalVersion(journal, validFrom: 101), key: key, offset: 3)
        #expect(try await world.delivery.deliverReporting(before) == [id: .written(objectName: "\(key)/journal/\(journal)_99.json")])
        #expect(try await world.delivery.deliverReporting(after) == [id: .written(objectName: "\(key)/journal/\(journal)_101.json")])
        let endedMessage = objectMessage(ended, key: key, offset: 4)
        #expect(try await world.delivery.deliverReporting(endedMessage) == [id: .written(objectName: "\(key)/journal/\(journal)_100.json")])
        let currentMessage = objectMessage(current, key: key, offset: 5)
        #expect(try await world.delivery.deliverReporting(currentMessage) == [id: .written(objectName: "\(key)/journal/\(journal)_200.json")])
        // The stale event again (a redelivery): the file keeps its ended content.
        #expect(try await world.delivery.deliverReporting(staleCurrent) == [id: .skippedAsStale])
        #expect(world.files("out")["\(key)/journal/\(journal)_100.json"] == document(of: endedMessage))
        #expect(world.files("out").count == 4)
    }

    @Test("kept events are replayed in offset order before the next live event of the key, with the stale-event guard")
    func keptThenReplayedInOffsetOrder() async throws {
        let world = try await LiveWorld.make("live_replay")
        defer { Task { await world.finish() } }
        let key = newUUID()
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [key]))
        let journal = newUUID()
        let v1 = objectMessage(journalVersion(journal, validFrom: 100), key: key, offset: 10)
        let v1Ended = objectMessage(journalVersion(journal, validFrom: 100, validTo: 200), key: key, offset: 11)
        let v2 = objectMessage(journalVersion(journal, validFrom: 200), key: key, offset: 12)
        let plain = plainMessage(#"{"entite_id":"\#(key)","n":13}"#, key: key, offset: 13)
        // Delivered out of order across partitions' worth of redelivery: kept once each.
        for message in [v1, v1Ended, v2, plain, v1] {
            #expect(try await world.delivery.deliverReporting(message) == [id: .kept])
        }
        try await world.setStatus(id, key, .pending)
        #expect(try await world.keptCount(id, key) == 4)
        #expect(world.files("out").isEmpty)
        // The initialisation's snapshot saw version 100 ended and 200 current.
        let connection = try await PostgresConnection.connect(world.database)
        try await DossierStore(connection: connection).load([DossierFixture(entiteId: key, periods: [], versions: [
            .journal: [journalVersion(journal, validFrom: 100, validTo: 200), journalVersion(journal, validFrom: 200)],
        ])])
        await connection.close()
        try await world.setStatus(id, key, .ready)

        let live = plainMessage(#"{"entite_id":"\#(key)","n":14}"#, key: key, offset: 14)
        #expect(try await world.delivery.deliverReporting(live) == [id: .written(objectName: "\(key)/\(liveTopic)/0-00000000000000000014.json")])
        #expect(try await world.keptCount(id, key) == 0)
        // v1 (current) skipped as stale: the database holds it ended; then v1's end, v2, the plain event, the live one.
        #expect(world.writeOrder() == [
            "\(key)/journal/\(journal)_100.json", "\(key)/journal/\(journal)_200.json",
            "\(key)/\(liveTopic)/0-00000000000000000013.json", "\(key)/\(liveTopic)/0-00000000000000000014.json",
        ])
        #expect(world.files("out")["\(key)/journal/\(journal)_100.json"] == document(of: v1Ended))
        #expect(world.files("out")["\(key)/journal/\(journal)_200.json"] == document(of: v2))
    }

    @Test("the hand-off drain replays kept events when the key becomes ready, with no new message of the key")
    func drainerReplaysOnReady() async throws {
        let world = try await LiveWorld.make("live_drainer")
        defer { Task { await world.finish() } }
        let (key, other) = (newUUID(), newUUID())
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [key, other]))
        let messages = (0..<5).map { plainMessage(#"{"entite_id":"\#(key)","n":\#($0)}"#, key: key, offset: Int64(20 + $0)) }
        for message in messages { _ = try await world.delivery.deliverReporting(message) }
        _ = try await world.delivery.deliverReporting(plainMessage(#"{"entite_id":"\#(other)"}"#, key: other, offset: 30))
        #expect(try await world.keptCount(id, key) == 5)

        let drainer = HandOffDrainer(delivery: world.delivery, storeConninfo: world.database, logger: Logger(label: "cae-init.test.drainer"))
        let running = Task { try await drainer.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .milliseconds(500))
        #expect(world.files("out").isEmpty)
        try await world.setStatus(id, key, .ready)
        // Replayed, then deleted when the drain's transaction commits (just after the last write).
        #expect(try await eventually(within: 30) { try await world.keptCount(id, key) == 0 })
        #expect(world.writeOrder() == (20..<25).map { "\(key)/\(liveTopic)/0-\(LiveEventNaming.paddedOffset(Int64($0))).json" })
        #expect(try await world.keptCount(id, other) == 1)
    }

    @Test("a drain and a live event of the same key at once: every kept event (more than one batch) before the live one, in offset order")
    func concurrentDrainsKeepOffsetOrder() async throws {
        let world = try await LiveWorld.make("live_concurrent")
        defer { Task { await world.finish() } }
        let key = newUUID()
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [key]))
        let kept = 150
        for offset in 0..<kept {
            _ = try await world.delivery.deliverReporting(plainMessage(#"{"entite_id":"\#(key)"}"#, key: key, offset: Int64(offset)))
        }
        #expect(try await world.keptCount(id, key) == kept)
        try await world.setStatus(id, key, .ready)
        let delivery = world.delivery
        async let drained = delivery.drainKept(subscriptionId: id, key: key)
        try await Task.sleep(for: .milliseconds(20))
        let live = try await delivery.deliverReporting(plainMessage(#"{"entite_id":"\#(key)"}"#, key: key, offset: 5000))
        _ = try await drained
        #expect(live == [id: .written(objectName: "\(key)/\(liveTopic)/0-\(LiveEventNaming.paddedOffset(5000)).json")])
        #expect(world.writeOrder() == (Array(0..<kept) + [5000]).map { "\(key)/\(liveTopic)/0-\(LiveEventNaming.paddedOffset(Int64($0))).json" })
        #expect(try await world.keptCount(id, key) == 0)
    }

    @Test("a cached sink replaced or dropped while writes use it is shut down only when the last of them gives it back")
    func sinkInUseIsNeverShutDownUnderAWrite() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let logger = Logger(label: "cae-init.test.live")
        let cache = LiveEventDelivery.SinkCache(factory: SinkFactory(httpClient: .shared, logger: logger), logger: logger)
        let configuration = SinkConfiguration(destination: .localDirectory(LocalDirectorySinkConfiguration(path: directory.file("out"))))
        func route(_ fingerprint: String) -> LiveEventStore.Route {
            LiveEventStore.Route(
                subscriptionId: "s", key: "k",
                subscriber: LiveEventSubscriber(topics: [], suspended: false, keyStatus: .ready, filter: DocumentFilter(JSONObject())),
                sink: .success(configuration), sinkFingerprint: fingerprint, secrets: [], hasKeptEvents: false
            )
        }
        let body = Array("{}".utf8)
        let first = try await cache.acquire(for: route("v1"), configuration: configuration)
        let second = try await cache.acquire(for: route("v1"), configuration: configuration)
        #expect(first.generation == second.generation)
        // The subscription changes while two writes use its sink: both still write.
        await cache.drop(subscriptionId: "s")
        try await first.sink.put("a/1.json", body: body)
        await cache.release(first)
        try await second.sink.put("a/2.json", body: body)
        await cache.release(second)
        // Given back by the last: shut down.
        await #expect(throws: SinkError.self) { try await second.sink.put("a/3.json", body: body) }

        // The stored sink changes (another fingerprint) while a write uses the sink: the new one is made at once,
        // the old one serves its write, then is shut down.
        let old = try await cache.acquire(for: route("v1"), configuration: configuration)
        #expect(old.generation != first.generation)
        let new = try await cache.acquire(for: route("v2"), configuration: configuration)
        #expect(new.generation != old.generation)
        try await old.sink.put("a/4.json", body: body)
        try await new.sink.put("a/5.json", body: body)
        await cache.release(old)
        await #expect(throws: SinkError.self) { try await old.sink.put("a/6.json", body: body) }
        try await new.sink.put("a/7.json", body: body)
        await cache.release(new)
        await cache.drop(subscriptionId: nil)
        #expect(Set(directory.files(under: "out").keys.filter { !$0.hasPrefix(".partial") }) == ["a/1.json", "a/2.json", "a/4.json", "a/5.json", "a/7.json"])
    }

    @Test("removing a key filter, or its subscription, discards what was kept for it")
    func removalDiscardsKeptEvents() async throws {
        let world = try await LiveWorld.make("live_removal")
        defer { Task { await world.finish() } }
        let (a, b) = (newUUID(), newUUID())
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [a, b]))
        let other = try await world.subscribe(liveLocalBody(path: world.directory.file("other"), keys: [a]))
        for (offset, key) in [(1, a), (2, b), (3, a)] {
            _ = try await world.delivery.deliverReporting(plainMessage(#"{"entite_id":"\#(key)"}"#, key: key, offset: Int64(offset)))
        }
        #expect(try await world.keptCount(id, a) == 2)
        #expect(try await world.keptCount(other, a) == 2)
        let connection = try await PostgresConnection.connect(world.database)
        try await SubscriptionStore(connection: connection).removeKeyFilters(subscriptionId: id, keys: [a])
        #expect(try await world.keptCount(id, a) == 0)
        #expect(try await world.keptCount(id, b) == 1)
        #expect(try await world.keptCount(other, a) == 2)
        try await SubscriptionStore(connection: connection).deleteSubscription(id: other)
        await connection.close()
        #expect(try await world.keptCount(other, a) == 0)
        #expect(try await world.keptCount(id, b) == 1)
    }

    @Test("two subscriptions on one key, a Local Directory and moto's S3: each gets the message")
    func twoSubscriptionsTwoSinks() async throws {
        let world = try await LiveWorld.make("live_two")
        defer { Task { await world.finish() } }
        let bucket = try await LiveBucket.start()
        defer { bucket.stop() }
        let key = newUUID()
        let local = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [key]))
        let s3 = try await world.subscribe(bucket.subscriptionBody(keys: [key]))
        try await world.setStatus(local, key, .ready)
        try await world.setStatus(s3, key, .ready)
        let journal = newUUID()
        let message = objectMessage(journalVersion(journal, validFrom: 7), key: key, offset: 1)
        let name = "\(key)/journal/\(journal)_7.json"
        #expect(try await world.delivery.deliverReporting(message) == [local: .written(objectName: name), s3: .written(objectName: name)])
        #expect(world.files("out") == [name: document(of: message)])
        let reader = try bucket.reader()
        #expect(try await reader.get(name) == document(of: message))
    }

    @Test("a refusing sink (wrong S3 key) dead-letters its messages while another subscription keeps receiving; dead-letters retry after the fix delivers them")
    func refusingSinkThenRetry() async throws {
        let world = try await LiveWorld.make("live_refusing")
        defer { Task { await world.finish() } }
        let bucket = try await LiveBucket.start()
        defer { bucket.stop() }
        let key = newUUID()
        let wrongSecret = LiveWorld.wrongSecret
        let (local, s3) = try await world.localAndRefusingS3(key, bucket: bucket)
        let journal = newUUID()
        let messages = (0..<3).map { objectMessage(journalVersion(journal, validFrom: Int64(100 + $0)), key: key, offset: Int64($0)) }
        for message in messages {
            let outcomes = try await world.delivery.deliverReporting(message)
            #expect(outcomes[local] == .written(objectName: "\(key)/journal/\(journal)_\(100 + message.offset).json"))
            guard case .deadLettered(let reason)? = outcomes[s3] else { Issue.record("not dead-lettered: \(outcomes)"); continue }
            #expect(reason.contains("403") && reason.contains("SignatureDoesNotMatch"), "\(reason)")
            #expect(!reason.contains(wrongSecret))
        }
        #expect(world.files("out").count == 3)
        let letters = try await world.deadLetters(s3)
        #expect(letters.map(\.event.offset) == [0, 1, 2])

        let listing = try await CLI.succeed(["dead-letters", "list", "--subscription", s3], database: world.database)
        #expect(listing.split(separator: "\n").count == 4, "\(listing)")
        #expect(listing.contains("\(liveTopic)/0/1") && listing.contains("SignatureDoesNotMatch") && !listing.contains(wrongSecret))
        // Retried before the fix: still failing, attempts counted, exit 1.
        let early = try await CLI.run(["dead-letters", "retry", "--subscription", s3], database: world.database)
        #expect(early.status == 1 && early.stdout.contains("still failing") && !early.stdout.contains(wrongSecret) && !early.stderr.contains(wrongSecret))
        #expect(try await world.deadLetters(s3).map(\.attempts) == [2, 2, 2])

        // The fix: the right secret. Retried through the CLI, each one is delivered and its row deleted.
        _ = try await sql("UPDATE cae_subscription SET sink = jsonb_set(sink, '{credentials,secretAccessKey}', to_jsonb($2::text)) WHERE id = $1", [s3, bucket.secret], database: world.database)
        let retry = try await CLI.run(["dead-letters", "retry", "--all"], database: world.database)
        #expect(retry.status == 0, "\(retry.stdout) \(retry.stderr)")
        #expect(retry.stdout.split(separator: "\n").filter { $0.hasPrefix("delivered") }.count == 3, "\(retry.stdout)")
        #expect(try await world.deadLetters().isEmpty)
        let reader = try bucket.reader()
        for message in messages {
            #expect(try await reader.get("\(key)/journal/\(journal)_\(100 + message.offset).json") == document(of: message))
        }
        // The live delivery's cached sink is made again from the fixed sink: the next message is written.
        let next = objectMessage(journalVersion(journal, validFrom: 200), key: key, offset: 3)
        #expect(try await world.delivery.deliverReporting(next)[s3] == .written(objectName: "\(key)/journal/\(journal)_200.json"))
    }

    @Test("dead-letters discard: by id, by subscription, all; and it refuses to run without saying which")
    func discard() async throws {
        let world = try await LiveWorld.make("live_discard")
        defer { Task { await world.finish() } }
        let key = newUUID()
        let a = try await world.subscribe(liveLocalBody(path: world.directory.file("a"), keys: [key], folderName: "societe"))
        let b = try await world.subscribe(liveLocalBody(path: world.directory.file("b"), keys: [key], folderName: "societe"))
        try await world.setStatus(a, key, .ready)
        try await world.setStatus(b, key, .ready)
        for offset in 0..<3 { _ = try await world.delivery.deliverReporting(plainMessage("{}", key: key, offset: Int64(offset))) }
        #expect(try await world.deadLetters().count == 6)
        #expect(try await CLI.run(["dead-letters", "discard"], database: world.database).status != 0)
        let first = try #require(try await world.deadLetters(a).first)
        #expect(try await CLI.succeed(["dead-letters", "discard", "--id", String(first.id)], database: world.database).contains("discarded 1"))
        #expect(try await CLI.run(["dead-letters", "discard", "--id", String(first.id)], database: world.database).status == 1)
        #expect(try await CLI.succeed(["dead-letters", "discard", "--subscription", a], database: world.database).contains("discarded 2"))
        #expect(try await world.deadLetters().map(\.subscriptionId) == [b, b, b])
        #expect(try await CLI.succeed(["dead-letters", "discard", "--all"], database: world.database).contains("discarded 3"))
        #expect(try await world.deadLetters().isEmpty)
    }

    @Test("NOTIFY: cae_subscription_changed on creation, topics, suspension, sink, filters and deletion; cae_key_filter_ready when a filter becomes ready")
    func notifications() async throws {
        let world = try await LiveWorld.make("live_notify")
        defer { Task { await world.finish() } }
        let listener = try await PostgresConnection.connect(world.database)
        try await listener.execute("LISTEN cae_subscription_changed; LISTEN cae_key_filter_ready")
        func received() async throws -> [String] {
            var all: [String] = []
            while true {
                let batch = try await listener.notifications(waitingUpTo: .milliseconds(300))
                if batch.isEmpty { return all }
                all += batch.map { "\($0.channel) \($0.payload)" }
            }
        }
        let key = newUUID()
        let id = try await world.subscribe(liveLocalBody(path: world.directory.file("out"), keys: [key]))
        #expect(try await received() == ["cae_subscription_changed \(id)"])
        for change in ["topics = '[\"x\"]'", "suspended = true", "sink = jsonb_set(sink, '{options,folderName}', '\"code\"')", "filters = '{\"a\":1}'"] {
            _ = try await sql("UPDATE cae_subscription SET \(change) WHERE id = $1", [id], database: world.database)
            #expect(try await received() == ["cae_subscription_changed \(id)"], "\(change)")
        }
        _ = try await sql("UPDATE cae_subscription SET domain = 'other', updated_at = now() WHERE id = $1", [id], database: world.database)
        #expect(try await received().isEmpty)
        try await world.setStatus(id, key, .pending)
        #expect(try await received().isEmpty)
        try await world.setStatus(id, key, .ready)
        #expect(try await received() == ["cae_key_filter_ready \(id) \(key)"])
        _ = try await sql("UPDATE cae_key_filter SET message = 'x' WHERE subscription_id = $1", [id], database: world.database)
        #expect(try await received().isEmpty)
        _ = try await sql("DELETE FROM cae_subscription WHERE id = $1", [id], database: world.database)
        #expect(try await received() == ["cae_subscription_changed \(id)"])
        await listener.close()
    }

    @Test("deliver throws when the store cannot be reached (the message is then not committed)")
    func unreachableStoreThrows() async throws {
        let port = try ServerProcess.freePort()
        let logger = Logger(label: "cae-init.test.live")
        let delivery = LiveEventDelivery(storeConninfo: "postgresql://nobody@127.0.0.1:\(port)/none?connect_timeout=2", sinkFactory: SinkFactory(httpClient: .shared, logger: logger), logger: logger)
        await #expect(throws: (any Error).self) {
            try await delivery.deliver(plainMessage("{}", key: newUUID(), offset: 1))
        }
        // A message with no key concerns no subscription: nothing to ask the store.
        try await delivery.deliver(plainMessage("{}", key: nil, offset: 2))
        await delivery.shutdown()
    }
}
