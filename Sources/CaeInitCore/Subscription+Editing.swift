/// Edits of a stored subscription (the REST API's `/topics`, `/filters`, `/sink`). Each edit is applied to the
/// subscription's document and the result goes through `Subscription.parseCreation`, so an edit is held to exactly
/// the rules of a creation (one validator), and errors name the field by its path in the document
/// (`sink.credentials.region`, `topics[2]`).
extension Subscription {
    /// `topics` replaced by the body: an array of strings, or `{"topics": [...]}` (Cegid's response shape).
    public func replacingTopics(with body: JSONValue) throws(FieldError) -> Subscription {
        var edited = self
        edited.topics = try validated(setting: "topics", to: try Self.topicList(in: body)).topics
        return edited
    }

    /// The body's topics not already listed, appended in the body's order.
    public func addingTopics(_ body: JSONValue) throws(FieldError) -> Subscription {
        let added = try validated(setting: "topics", to: try Self.topicList(in: body)).topics
        var edited = self
        for topic in added where !edited.topics.contains(topic) { edited.topics.append(topic) }
        return try edited.revalidated()
    }

    /// The body's topics removed; topics not listed are ignored.
    public func removingTopics(_ body: JSONValue) throws(FieldError) -> Subscription {
        let removed = Set(try validated(setting: "topics", to: try Self.topicList(in: body)).topics)
        var edited = self
        edited.topics.removeAll { removed.contains($0) }
        return try edited.revalidated()
    }

    /// `filters` replaced by the body (an object, property → value); `{}` or `null` removes every filter.
    public func replacingFilters(with body: JSONValue) throws(FieldError) -> Subscription {
        var edited = self
        let filters = try validated(setting: "filters", to: body).filters
        edited.filters = (filters?.count ?? 0) == 0 ? nil : filters
        return edited
    }

    /// The named properties removed from `filters`: the body is an array of property names, or an object whose
    /// keys are removed (its values are ignored). Properties not present are ignored.
    public func removingFilters(_ body: JSONValue) throws(FieldError) -> Subscription {
        var names: [String] = []
        switch body {
        case .array(let array):
            for (i, element) in array.enumerated() {
                guard let name = element.stringValue else { throw FieldError("filters[\(i)]", "expected a property name (string), found \(element.typeName)") }
                names.append(name)
            }
        case .object(let object):
            names = object.keys
        default:
            throw FieldError("filters", "expected an array of property names or an object, found \(body.typeName)")
        }
        var edited = self
        if var filters = edited.filters {
            for name in names { filters[name] = nil }
            edited.filters = filters.count == 0 ? nil : filters
        }
        return try edited.revalidated()
    }

    /// `sink` replaced by the body. A secret sent back in its masked form keeps the stored secret.
    public func replacingSink(with body: JSONValue) throws(FieldError) -> Subscription {
        var candidate = body
        if case .object(let object) = body { candidate = .object(SinkSecrets.restoringMasked(in: object, from: sink)) }
        var edited = self
        edited.sink = try validated(setting: "sink", to: candidate).sink
        return edited
    }

    /// The body merged into `sink` as a JSON Merge Patch (RFC 7396): objects merge member by member, `null`
    /// removes a member, anything else replaces. A secret absent from the body, or sent in its masked form, keeps
    /// the stored one.
    public func mergingSink(_ patch: JSONValue) throws(FieldError) -> Subscription {
        guard case .object(let patchObject) = patch else {
            throw FieldError("sink", "expected an object (the members of the sink to change), found \(patch.typeName)")
        }
        let merged = JSONMergePatch.apply(.object(patchObject), to: .object(sink))
        var candidate = merged
        if case .object(let object) = merged { candidate = .object(SinkSecrets.restoringMasked(in: object, from: sink)) }
        var edited = self
        edited.sink = try validated(setting: "sink", to: candidate).sink
        return edited
    }

    /// The subscription checked against the creation rules as it stands.
    public func revalidated() throws(FieldError) -> Subscription {
        _ = try validated(setting: nil, to: .null)
        return self
    }

    /// Parses the document of this subscription, with `field` set to `value`, with the creation rules.
    private func validated(setting field: String?, to value: JSONValue) throws(FieldError) -> Subscription {
        var document = self.document(maskSecrets: false).objectValue ?? JSONObject()
        if let field { document[field] = value }
        return try Subscription.parseCreation(.object(document))
    }

    /// The topic list of a `/topics` body: an array, or an object `{"topics": [...]}`.
    static func topicList(in body: JSONValue) throws(FieldError) -> JSONValue {
        switch body {
        case .array: return body
        case .object(let object):
            let reader = FieldReader(object: object, path: "")
            try reader.refuseUnknown(allowed: ["topics"])
            return try reader.required("topics")
        default:
            throw FieldError("topics", "expected an array of strings or {\"topics\": [...]}, found \(body.typeName)")
        }
    }
}
