import CLibPQ

/// Connection strings: checked before use and shown without their password.
public enum Conninfo {
    /// `conninfo` (key=value or URI) as `key=value` pairs without the password; libpq does the parsing, so
    /// both forms are understood exactly as `PQconnectdb` understands them.
    public static func redacted(_ conninfo: String) -> String {
        guard let options = try? parse(conninfo) else { return "(malformed connection string)" }
        let parts = options.filter { $0.key != "password" }.map { "\($0.key)=\($0.value)" }
        return parts.isEmpty ? "(defaults)" : parts.joined(separator: " ")
    }

    /// Refuses a connection string libpq cannot parse, with libpq's reason minus the quoted text it echoes (which
    /// may hold the password: `invalid percent-encoded token: "s3cr%zz"`).
    public static func validate(_ conninfo: String, name: String = "the connection string") throws(PostgresError) {
        _ = try parse(conninfo, name: name)
    }

    static func parse(_ conninfo: String, name: String = "the connection string") throws(PostgresError) -> [(key: String, value: String)] {
        if conninfo.utf8.contains(0) {
            throw PostgresError(code: .invalidConnectionString, message: "\(name) is malformed: it contains a NUL character")
        }
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            var reason = "libpq cannot parse it"
            if let errorMessage {
                reason = withoutQuotedText(String(cString: errorMessage).trimmingTrailingNewlines())
                PQfreemem(errorMessage)
            }
            throw PostgresError(code: .invalidConnectionString, message: "\(name) is malformed: \(reason)")
        }
        defer { PQconninfoFree(options) }
        var parts: [(String, String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { parts.append((String(cString: keyword), String(cString: value))) }
            option += 1
        }
        return parts
    }

    /// libpq quotes the offending part of the string in its parse errors: drop every quoted run.
    static func withoutQuotedText(_ message: String) -> String {
        var result = ""
        var inQuotes = false
        for character in message {
            if character == "\"" {
                if !inQuotes { result += "\"…" }
                else { result += "\"" }
                inQuotes.toggle()
            } else if !inQuotes {
                result.append(character)
            }
        }
        return inQuotes ? result + "\"" : result
    }
}
