/// The part of a subscription that changes what an initialisation writes: a golden case's optional
/// `subscription.json`. Anything else (sink type, credentials, key filters…) is refused, so that a case never
/// looks as if it tested something it does not.
public struct CaseSettings: Sendable, Equatable {
    public var initWithHistory: Bool
    /// The subscription's `filters`; nil when absent.
    public var filters: JSONObject?
    /// The sink's `options.folderName`.
    public var folderName: String

    public init(initWithHistory: Bool = false, filters: JSONObject? = nil, folderName: String = "entite_id") {
        self.initWithHistory = initWithHistory
        self.filters = filters
        self.folderName = folderName
    }

    static let allowedNote = "a case's subscription.json may hold only initWithHistory, filters and sink.options.folderName (what changes the files written)"

    public static func parse(_ text: String) throws(FieldError) -> CaseSettings {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch { throw FieldError("", "not valid JSON: \(error)") }
        return try parse(value)
    }

    public static func parse(_ value: JSONValue) throws(FieldError) -> CaseSettings {
        let root = try FieldReader(value, path: "")
        try refuseOthers(root, allowed: ["initWithHistory", "filters", "sink"])
        var settings = CaseSettings()
        settings.initWithHistory = try root.optionalBool("initWithHistory") ?? false
        if let raw = root.object["filters"], !raw.isNull {
            guard let object = raw.objectValue else { throw FieldError("filters", "expected an object (property → value), found \(raw.typeName)") }
            settings.filters = object
        }
        if let rawSink = root.object["sink"], !rawSink.isNull {
            let sink = try FieldReader(rawSink, path: "sink")
            try refuseOthers(sink, allowed: ["options"])
            if let rawOptions = sink.object["options"], !rawOptions.isNull {
                let options = try FieldReader(rawOptions, path: "sink.options")
                try refuseOthers(options, allowed: ["folderName"])
                if let folder = try options.optionalString("folderName") {
                    guard !folder.isEmpty else { throw FieldError("sink.options.folderName", "must not be empty") }
                    settings.folderName = folder
                }
            }
        }
        return settings
    }

    private static func refuseOthers(_ reader: FieldReader, allowed: Set<String>) throws(FieldError) {
        for key in reader.object.keys where !allowed.contains(key) {
            throw FieldError(reader.fieldPath(key), "not allowed: \(allowedNote)")
        }
    }

    /// The pipeline an initialisation of `fixture` under these settings runs.
    public func pipeline(for fixture: DossierFixture) -> DocumentPipeline {
        DocumentPipeline(entiteId: fixture.entiteId, periods: fixture.periods, withHistory: initWithHistory, filters: filters, folderProperty: folderName)
    }
}
