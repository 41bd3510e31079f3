/// Helpers to read typed fields from a JSON object while naming the field on failure.
struct FieldReader {
    let object: JSONObject
    let path: String

    init(_ value: JSONValue, path: String) throws(FieldError) {
        guard let object = value.objectValue else {
            throw FieldError(path, "expected an object, found \(value.typeName)")
        }
        self.object = object
        self.path = path
    }

    init(object: JSONObject, path: String) {
        self.object = object
        self.path = path
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func refuseUnknown(allowed: Set<String>) throws(FieldError) {
        for key in object.keys where !allowed.contains(key) {
            throw FieldError(fieldPath(key), "unknown field (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func required(_ key: String) throws(FieldError) -> JSONValue {
        guard let value = object[key] else { throw FieldError(fieldPath(key), "is missing") }
        return value
    }

    func string(_ key: String, nonEmpty: Bool = true) throws(FieldError) -> String {
        let value = try required(key)
        guard let string = value.stringValue else {
            throw FieldError(fieldPath(key), "expected a string, found \(value.typeName)")
        }
        if nonEmpty && string.isEmpty { throw FieldError(fieldPath(key), "must not be empty") }
        try StorableJSON.checkText(string, path: fieldPath(key))
        return string
    }

    func optionalString(_ key: String) throws(FieldError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let string = value.stringValue else {
            throw FieldError(fieldPath(key), "expected a string, found \(value.typeName)")
        }
        try StorableJSON.checkText(string, path: fieldPath(key))
        return string
    }

    /// A string of at most `maxLength` characters (a longer one could not be indexed or shown).
    func string(_ key: String, maxLength: Int) throws(FieldError) -> String {
        let value = try string(key)
        if value.count > maxLength { throw FieldError(fieldPath(key), "must be at most \(maxLength) characters, found \(value.count)") }
        return value
    }

    func optionalBool(_ key: String) throws(FieldError) -> Bool? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let bool = value.boolValue else {
            throw FieldError(fieldPath(key), "expected true or false, found \(value.typeName)")
        }
        return bool
    }

    func int64(_ key: String) throws(FieldError) -> Int64 {
        let value = try required(key)
        return try Self.int64(value, path: fieldPath(key))
    }

    static func int64(_ value: JSONValue, path: String) throws(FieldError) -> Int64 {
        guard case .number(let literal) = value, let int = Int64(literal) else {
            throw FieldError(path, "expected an integer, found \(value.typeName == "a number" ? "a non-integer number" : value.typeName)")
        }
        return int
    }

    func optionalDouble(_ key: String) throws(FieldError) -> Double? {
        guard let value = object[key], !value.isNull else { return nil }
        guard case .number(let literal) = value, let double = Double(literal) else {
            throw FieldError(fieldPath(key), "expected a number, found \(value.typeName)")
        }
        return double
    }
}
