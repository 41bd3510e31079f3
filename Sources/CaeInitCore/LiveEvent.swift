/// One Kafka message of a subscription's topic, as the Sink Service reads it (SPEC §9): the dossier it concerns
/// (the message key, `entite_id`), where it stands in its partition, its `kind` header and its value. Pure: the
/// Kafka types stay in CaeInitKafka, so the rules here are tested without a broker.
public struct LiveEvent: Sendable, Equatable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    /// The dossier's `entite_id`, canonical UUID text.
    public let key: String
    /// The `kind` header as sent; `journal`, `compte` or `ecriture` make an object-version event.
    public let kindHeader: String?
    /// The value's bytes (nil for a tombstone).
    public let value: [UInt8]?

    public init(topic: String, partition: Int32, offset: Int64, key: String, kindHeader: String?, value: [UInt8]?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.kindHeader = kindHeader
        self.value = value
    }

    /// The key a message concerns: its key as canonical UUID text, or nil when it has none or it is no UUID (then
    /// it is no subscription's key: key filters are UUIDs).
    public static func key(from bytes: [UInt8]?) -> String? {
        guard let bytes, let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return UUIDText.canonical(text)
    }

    /// The object kind the `kind` header names, if any: anything else is a plain event.
    public var objectKind: ObjectKind? { kindHeader.flatMap(ObjectKind.init(rawValue:)) }

    /// What the value says. An object-version event's value must be a SPEC §4 document of this key; any event's
    /// value must be a JSON object (its folder and the subscription's `filters` are read from it).
    public func content() throws(LiveEventError) -> LiveEventContent {
        guard let value else { throw LiveEventError("the message has no value (a tombstone)") }
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(bytes: value) } catch { throw LiveEventError("the value is not JSON: \(error)") }
        guard let document = parsed.objectValue else { throw LiveEventError("the value is \(parsed.typeName), not a JSON object") }
        guard let kind = objectKind else { return .plain(document: document) }
        return .objectVersion(try Self.version(of: kind, in: document, key: key), document: document)
    }

    /// The object version a §4 document describes: `id` a UUID, `validFrom` and `validTo` integers (epoch ms,
    /// `validTo` 0 or after `validFrom`), `entite_id` the message key. The kind's other fields are taken as they are.
    static func version(of kind: ObjectKind, in document: JSONObject, key: String) throws(LiveEventError) -> ObjectVersion {
        let label = "\(kind.rawValue) document"
        guard let idText = document["id"]?.stringValue, let id = UUIDText.canonical(idText) else {
            throw LiveEventError("\(label): id is missing or not a UUID")
        }
        func integer(_ field: String) throws(LiveEventError) -> Int64 {
            guard case .number(let literal)? = document[field], let value = Int64(literal) else {
                throw LiveEventError("\(label) \(id): \(field) is missing or not an integer")
            }
            guard value >= 0 else { throw LiveEventError("\(label) \(id): \(field) is negative") }
            return value
        }
        let validFrom = try integer("validFrom")
        let validTo = try integer("validTo")
        if validTo != 0 && validTo <= validFrom {
            throw LiveEventError("\(label) \(id): validTo must be 0 (current) or after validFrom")
        }
        guard let entite = document["entite_id"]?.stringValue, UUIDText.canonical(entite) == key else {
            throw LiveEventError("\(label) \(id): entite_id is not the message key \(key)")
        }
        let fields = kind.fields.map { document[$0.name] ?? .null }
        return ObjectVersion(kind: kind, id: id, validFrom: validFrom, validTo: validTo, fields: fields)
    }
}

/// What a live event's value says.
public enum LiveEventContent: Sendable, Equatable {
    /// One version of a journal, compte or écriture: written under the name an initialisation gives it.
    case objectVersion(ObjectVersion, document: JSONObject)
    /// Anything else: written under its topic, partition and offset.
    case plain(document: JSONObject)

    public var document: JSONObject {
        switch self {
        case .objectVersion(_, let document), .plain(let document): return document
        }
    }

    public var version: ObjectVersion? {
        if case .objectVersion(let version, _) = self { return version }
        return nil
    }
}

/// Why a live event cannot be written anywhere (a malformed value): it is dead-lettered with this reason. Never
/// holds a secret (it names fields, not their values, except the key and ids).
public struct LiveEventError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
