extension JSONValue {
    /// The path of the first string (or object key) holding U+0000, which PostgreSQL cannot store in `text` or
    /// `jsonb`; nil when there is none. Paths are written like `ValidationError.path` (`sink.options.path`).
    public func pathOfNullCharacter(at path: String = "") -> String? {
        switch self {
        case .string(let string):
            return string.utf8.contains(0) ? path : nil
        case .array(let array):
            for (i, element) in array.enumerated() {
                if let found = element.pathOfNullCharacter(at: "\(path)[\(i)]") { return found }
            }
            return nil
        case .object(let object):
            for (key, value) in object {
                let child = path.isEmpty ? key : "\(path).\(key)"
                if key.utf8.contains(0) { return child }
                if let found = value.pathOfNullCharacter(at: child) { return found }
            }
            return nil
        case .null, .bool, .number:
            return nil
        }
    }
}
