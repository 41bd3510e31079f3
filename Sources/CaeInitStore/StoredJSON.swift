import CaeInitCore

/// JSON read back from a `jsonb`/`json` column. A value that does not fit is an error naming the column: a
/// stored row written by another client must fail loudly, not turn into `null`.
enum StoredJSON {
    static func parse(_ text: String, column: String) throws(StoreError) -> JSONValue {
        do { return try JSONValue.parse(text) } catch {
            throw StoreError(.invalidInput, "stored \(column) is not valid JSON (\(error))")
        }
    }

    static func object(_ text: String, column: String) throws(StoreError) -> JSONObject {
        try object(try parse(text, column: column), column: column)
    }

    static func object(_ value: JSONValue, column: String) throws(StoreError) -> JSONObject {
        guard let object = value.objectValue else { throw StoreError(.invalidInput, "stored \(column) is \(value.typeName), not an object") }
        return object
    }

    static func array(_ text: String, column: String) throws(StoreError) -> [JSONValue] {
        let value = try parse(text, column: column)
        guard let array = value.arrayValue else { throw StoreError(.invalidInput, "stored \(column) is \(value.typeName), not an array") }
        return array
    }
}
