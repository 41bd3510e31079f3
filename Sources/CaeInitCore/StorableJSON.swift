/// What PostgreSQL can store: text without NUL characters (neither `text` nor `jsonb` holds U+0000) and numbers
/// within `numeric`'s range (131072 digits before the decimal point, 16383 after). Checked at the boundary so that a
/// value PostgreSQL would refuse is reported naming its field, not as a raw SQLSTATE.
public enum StorableJSON {
    public static let maxIntegerDigits = 131_072
    public static let maxFractionDigits = 16_383

    /// Throws naming the first value below `path` that PostgreSQL cannot store.
    public static func check(_ value: JSONValue, path: String) throws(FieldError) {
        switch value {
        case .null, .bool:
            return
        case .string(let text):
            try checkText(text, path: path)
        case .number(let literal):
            try checkNumber(literal, path: path)
        case .array(let elements):
            for (index, element) in elements.enumerated() { try check(element, path: "\(path)[\(index)]") }
        case .object(let object):
            for (key, element) in object {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                try checkText(key, path: childPath)
                try check(element, path: childPath)
            }
        }
    }

    public static func checkText(_ text: String, path: String) throws(FieldError) {
        if text.utf8.contains(0) { throw FieldError(path, "must not contain a NUL character (\\u0000)") }
    }

    public static func checkNumber(_ literal: String, path: String) throws(FieldError) {
        // Without an exponent, a literal has no more digits on either side of the point than characters: one no
        // longer than the smaller limit fits (the usual amount), with no need to reduce it.
        if literal.utf8.count <= min(maxIntegerDigits, maxFractionDigits),
           !literal.utf8.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return
        }
        let decimal = DecimalText(literal)
        let integerDigits = decimal.digits.count + decimal.exponent
        let fractionDigits = -decimal.exponent
        if integerDigits > maxIntegerDigits || fractionDigits > maxFractionDigits {
            throw FieldError(path, "the number \(literal.prefix(40)) is outside the range PostgreSQL can store (\(maxIntegerDigits) digits before the decimal point, \(maxFractionDigits) after)")
        }
    }
}
