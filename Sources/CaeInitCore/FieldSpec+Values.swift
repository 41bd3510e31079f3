extension FieldSpec {
    /// Checks a value read from input against the field's type and returns it in canonical form
    /// (UUIDs lowercase, écriture lines with their keys in document order). `null` is always accepted.
    public func validate(_ value: JSONValue, path: String) throws(FieldError) -> JSONValue {
        if value.isNull { return .null }
        switch type {
        case .uuid:
            guard let text = value.stringValue, let uuid = UUIDText.canonical(text) else {
                throw FieldError(path, "expected a UUID string, found \(Self.describe(value))")
            }
            return .string(uuid)
        case .text:
            guard let text = value.stringValue else { throw FieldError(path, "expected a string, found \(value.typeName)") }
            try StorableJSON.checkText(text, path: path)
            return value
        case .int32:
            let int = try FieldReader.int64(value, path: path)
            guard int >= Int64(Int32.min), int <= Int64(Int32.max) else {
                throw FieldError(path, "integer \(int) does not fit in 32 bits")
            }
            return .number(String(int))
        case .int64:
            return .number(String(try FieldReader.int64(value, path: path)))
        case .bool:
            guard value.boolValue != nil else { throw FieldError(path, "expected true or false, found \(value.typeName)") }
            return value
        case .lignes:
            return try Self.validateLignes(value, path: path)
        }
    }

    /// Turns a PostgreSQL text-format column value into the document's JSON value.
    public func decode(column text: String?) throws(FieldError) -> JSONValue {
        guard let text else { return .null }
        switch type {
        case .uuid, .text: return .string(text)
        case .int32, .int64: return .number(text)
        case .bool: return .bool(text == "t")
        case .lignes:
            let parsed: JSONValue
            do { parsed = try JSONValue.parse(text) } catch { throw FieldError(name, "stored lines are not valid JSON: \(error)") }
            return try Self.validateLignes(parsed, path: name)
        }
    }

    static let ligneFields: [FieldSpec] = [
        FieldSpec("compte_id", column: "compte_id", .uuid),
        FieldSpec("libelle", column: "libelle", .text),
        FieldSpec("debit", column: "debit", .text),
        FieldSpec("credit", column: "credit", .text),
    ]

    static func validateLignes(_ value: JSONValue, path: String) throws(FieldError) -> JSONValue {
        guard let lignes = value.arrayValue else { throw FieldError(path, "expected an array of lines, found \(value.typeName)") }
        var output: [JSONValue] = []
        output.reserveCapacity(lignes.count)
        for (i, ligne) in lignes.enumerated() {
            if let usual = usualLigne(ligne) {
                output.append(.object(usual))
            } else {
                output.append(.object(try checkedLigne(ligne, path: "\(path)[\(i)]")))
            }
        }
        return .array(output)
    }

    /// A line checked field by field, an error naming the field below `path`.
    static func checkedLigne(_ ligne: JSONValue, path: String) throws(FieldError) -> JSONObject {
        let reader = try FieldReader(ligne, path: path)
        try reader.refuseUnknown(allowed: ["compte_id", "libelle", "debit", "credit"])
        var normalized = JSONObject()
        normalized.appendUnchecked("compte_id", try ligneFields[0].validate(try reader.required("compte_id"), path: reader.fieldPath("compte_id")))
        normalized.appendUnchecked("libelle", try ligneFields[1].validate(try reader.required("libelle"), path: reader.fieldPath("libelle")))
        for amount in ["debit", "credit"] {
            let value = try reader.required(amount)
            switch value {
            case .number(let literal):
                try StorableJSON.checkNumber(literal, path: reader.fieldPath(amount))
                normalized.appendUnchecked(amount, value)
            case .null: normalized.appendUnchecked(amount, value)
            default: throw FieldError(reader.fieldPath(amount), "expected a decimal number, found \(value.typeName)")
            }
        }
        return normalized
    }

    /// A line in its usual shape (the four fields; a canonical UUID, a text without NUL, two amounts or nulls)
    /// normalised as the checks above would, without the field paths only an error needs; nil for anything else,
    /// left to those checks (which accept it differently or name what is wrong).
    static func usualLigne(_ value: JSONValue) -> JSONObject? {
        guard case .object(let ligne) = value, ligne.count == 4,
              case .string(let compte)? = ligne["compte_id"], UUIDText.isCanonical(compte),
              case .string(let libelle)? = ligne["libelle"], !libelle.utf8.contains(0),
              let debit = ligne["debit"], let credit = ligne["credit"]
        else { return nil }
        for amount in [debit, credit] {
            switch amount {
            case .null: continue
            case .number(let literal) where (try? StorableJSON.checkNumber(literal, path: "")) != nil: continue
            default: return nil
            }
        }
        var normalized = JSONObject()
        normalized.appendUnchecked("compte_id", .string(compte))
        normalized.appendUnchecked("libelle", .string(libelle))
        normalized.appendUnchecked("debit", debit)
        normalized.appendUnchecked("credit", credit)
        return normalized
    }

    static func describe(_ value: JSONValue) -> String {
        if let s = value.stringValue { return "\"\(s.prefix(60))\"" }
        return value.typeName
    }
}
