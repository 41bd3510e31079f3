import CLibPQ

/// Connection strings, shown without their password.
public enum Conninfo {
    /// `conninfo` (key=value or URI) as `key=value` pairs without the password; libpq does the parsing, so
    /// both forms are understood exactly as `PQconnectdb` understands them.
    public static func redacted(_ conninfo: String) -> String {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            return "(unparseable connection string)"
        }
        defer { PQconninfoFree(options) }
        var parts: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            let key = String(cString: keyword)
            if let value = option.pointee.val, key != "password" {
                parts.append("\(key)=\(String(cString: value))")
            }
            option += 1
        }
        return parts.isEmpty ? "(defaults)" : parts.joined(separator: " ")
    }
}
