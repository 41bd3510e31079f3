/// One entry of a `/key-filters` body: a dossier key and, for `PUT`, the status asked for.
public struct KeyFilterEdit: Sendable, Equatable {
    /// Canonical UUID text.
    public var key: String
    /// The status sent, if any. Only `new` acts (it re-initialises the dossier): the rest of the lifecycle
    /// belongs to the worker, so other statuses, like `initializer`, `message` and `report`, are accepted (a
    /// client may send back what it read) and left as stored.
    public var status: KeyFilterStatus?

    public init(key: String, status: KeyFilterStatus? = nil) {
        self.key = key
        self.status = status
    }

    /// Reads a `/key-filters` body: an array of key filters (`{key, status?, initializer?, message?, report?}`)
    /// or `{"keyFilters": [...]}`. Fields are named by their path in the subscription document
    /// (`keyFilters[1].key`). At least one key; each key once.
    public static func parseList(_ body: JSONValue) throws(FieldError) -> [KeyFilterEdit] {
        var list = body
        if case .object(let object) = body {
            let reader = FieldReader(object: object, path: "")
            try reader.refuseUnknown(allowed: ["keyFilters"])
            list = try reader.required("keyFilters")
        }
        guard case .array(let array) = list else {
            throw FieldError("keyFilters", "expected an array of key filters ({\"key\": \"<entite_id>\"}), found \(list.typeName)")
        }
        guard !array.isEmpty else { throw FieldError("keyFilters", "must list at least one key filter") }
        var edits: [KeyFilterEdit] = []
        var seen = Set<String>()
        for (i, element) in array.enumerated() {
            let (filter, key) = try KeyFilter.readEntry(element, at: i, seen: &seen)
            var status: KeyFilterStatus?
            if let text = try filter.optionalString("status") {
                guard let parsed = KeyFilterStatus(rawValue: text) else {
                    throw FieldError(filter.fieldPath("status"), "\"\(text.prefix(40))\" is not a status (expected one of: \(KeyFilterStatus.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                status = parsed
            }
            edits.append(KeyFilterEdit(key: key, status: status))
        }
        return edits
    }
}
