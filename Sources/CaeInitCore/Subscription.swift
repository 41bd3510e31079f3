/// A key filter's place in the lifecycle (SPEC §3).
public enum KeyFilterStatus: String, Sendable, CaseIterable {
    case new, pending, ready, failed
}

/// One dossier of a subscription and where its initialisation stands.
public struct KeyFilter: Sendable, Equatable {
    /// The dossier's `entite_id`, canonical UUID text.
    public var key: String
    public var status: KeyFilterStatus
    public var initializer: String?
    public var message: String?
    public var report: JSONValue?

    public init(key: String, status: KeyFilterStatus = .new, initializer: String? = nil, message: String? = nil, report: JSONValue? = nil) {
        self.key = key
        self.status = status
        self.initializer = initializer
        self.message = message
        self.report = report
    }

    public var document: JSONValue {
        var object = JSONObject()
        object.appendUnchecked("key", .string(key))
        object.appendUnchecked("status", .string(status.rawValue))
        object.appendUnchecked("initializer", initializer.map(JSONValue.string) ?? .null)
        object.appendUnchecked("message", message.map(JSONValue.string) ?? .null)
        object.appendUnchecked("report", report ?? .null)
        return .object(object)
    }
}

/// A sink subscription (SPEC §2): where the events of some dossiers go.
public struct Subscription: Sendable, Equatable {
    /// 24 lowercase hex characters; empty until created.
    public var id: String
    public var domain: String
    public var key: String?
    public var keyFilters: [KeyFilter]
    public var applicationId: String?
    public var suspended: Bool
    /// The `sink` object as given (validated by `SinkConfiguration`), secrets included: mask before showing.
    public var sink: JSONObject
    public var topics: [String]
    public var filters: JSONObject?
    public var initWithHistory: Bool

    public init(id: String, domain: String, key: String?, keyFilters: [KeyFilter], applicationId: String?, suspended: Bool, sink: JSONObject, topics: [String], filters: JSONObject?, initWithHistory: Bool) {
        self.id = id
        self.domain = domain
        self.key = key
        self.keyFilters = keyFilters
        self.applicationId = applicationId
        self.suspended = suspended
        self.sink = sink
        self.topics = topics
        self.filters = filters
        self.initWithHistory = initWithHistory
    }

    /// The longest `domain`, `applicationId` or topic accepted: they are indexed and shown, not documents.
    public static let maxTextLength = 256

    static let creationFields: Set<String> = [
        "id", "domain", "key", "keyFilters", "applicationId", "suspended", "sink", "topics", "filters", "initWithHistory",
    ]

    /// Reads a creation body (SPEC §2). `id` and `key` are ignored (the store assigns them), every key filter
    /// starts `new`, and the sink is validated so that a subscription that could never be initialised is refused
    /// before it is stored.
    public static func parseCreation(_ value: JSONValue) throws(FieldError) -> Subscription {
        let body = try FieldReader(value, path: "")
        try body.refuseUnknown(allowed: creationFields)
        let domain = try body.string("domain", maxLength: Self.maxTextLength)
        var keyFilters: [KeyFilter] = []
        if let raw = body.object["keyFilters"], !raw.isNull {
            guard let array = raw.arrayValue else { throw FieldError("keyFilters", "expected an array, found \(raw.typeName)") }
            var seen = Set<String>()
            for (i, element) in array.enumerated() {
                keyFilters.append(KeyFilter(key: try KeyFilter.readEntry(element, at: i, seen: &seen).key))
            }
        }
        let sinkValue = try body.required("sink")
        _ = try SinkConfiguration(json: sinkValue)
        try StorableJSON.check(sinkValue, path: "sink")
        let applicationId = try body.optionalString("applicationId")
        if let applicationId, applicationId.count > Self.maxTextLength {
            throw FieldError("applicationId", "must be at most \(Self.maxTextLength) characters, found \(applicationId.count)")
        }
        var topics: [String] = []
        if let raw = body.object["topics"], !raw.isNull {
            guard let array = raw.arrayValue else { throw FieldError("topics", "expected an array of strings, found \(raw.typeName)") }
            for (i, topic) in array.enumerated() {
                guard let text = topic.stringValue else { throw FieldError("topics[\(i)]", "expected a string, found \(topic.typeName)") }
                try StorableJSON.checkText(text, path: "topics[\(i)]")
                if text.count > Self.maxTextLength { throw FieldError("topics[\(i)]", "must be at most \(Self.maxTextLength) characters, found \(text.count)") }
                topics.append(text)
            }
        }
        var filters: JSONObject?
        if let raw = body.object["filters"], !raw.isNull {
            guard let object = raw.objectValue else { throw FieldError("filters", "expected an object (property → value), found \(raw.typeName)") }
            try StorableJSON.check(raw, path: "filters")
            filters = object
        }
        return Subscription(
            id: "",
            domain: domain,
            key: nil,
            keyFilters: keyFilters,
            applicationId: applicationId,
            suspended: try body.optionalBool("suspended") ?? false,
            sink: sinkValue.objectValue!,
            topics: topics,
            filters: filters,
            initWithHistory: try body.optionalBool("initWithHistory") ?? false
        )
    }

    /// The sink object with every secret masked (SPEC §2).
    public static func maskingSecrets(in sink: JSONObject) -> JSONObject {
        var masked = sink
        if var credentials = sink["credentials"]?.objectValue {
            for field in SinkConfiguration.secretFields {
                if case .string(let secret)? = credentials[field] {
                    credentials[field] = .string(Secret.mask(secret))
                }
            }
            masked["credentials"] = .object(credentials)
        }
        return masked
    }

    /// The document of SPEC §2, secrets masked unless asked otherwise.
    public func document(maskSecrets: Bool = true) -> JSONValue {
        var object = JSONObject()
        object.appendUnchecked("id", .string(id))
        object.appendUnchecked("domain", .string(domain))
        object.appendUnchecked("key", key.map(JSONValue.string) ?? .null)
        object.appendUnchecked("keyFilters", .array(keyFilters.map(\.document)))
        object.appendUnchecked("applicationId", applicationId.map(JSONValue.string) ?? .null)
        object.appendUnchecked("suspended", .bool(suspended))
        object.appendUnchecked("sink", .object(maskSecrets ? Self.maskingSecrets(in: sink) : sink))
        object.appendUnchecked("topics", .array(topics.map(JSONValue.string)))
        object.appendUnchecked("filters", filters.map(JSONValue.object) ?? .null)
        object.appendUnchecked("initWithHistory", .bool(initWithHistory))
        return .object(object)
    }
}
