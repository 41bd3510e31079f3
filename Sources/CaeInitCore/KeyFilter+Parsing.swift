extension KeyFilter {
    /// The fields a key filter may carry in a request body (the worker's own are accepted and ignored).
    static let bodyFields: Set<String> = ["key", "status", "initializer", "message", "report"]

    /// Reads element `index` of a `keyFilters` array: known fields only, and a UUID key (returned canonical) not
    /// listed before in `seen`. Creation and the key-filter routes share it, so both refuse the same input alike.
    static func readEntry(_ element: JSONValue, at index: Int, seen: inout Set<String>) throws(FieldError) -> (reader: FieldReader, key: String) {
        let filter = try FieldReader(element, path: "keyFilters[\(index)]")
        try filter.refuseUnknown(allowed: bodyFields)
        let keyText = try filter.string("key")
        guard let key = UUIDText.canonical(keyText) else {
            throw FieldError(filter.fieldPath("key"), "\"\(keyText.prefix(60))\" is not a UUID")
        }
        guard seen.insert(key).inserted else { throw FieldError(filter.fieldPath("key"), "\(key) is listed twice") }
        return (filter, key)
    }
}
