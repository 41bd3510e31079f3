@testable import CaeInitCore
import Testing

/// The shortcuts of the hot path (reading rows, writing documents) give what the general code gives.
@Suite("Fast paths")
struct FastPathTests {
    static let compte = "c0000000-0000-4000-8000-00000000000a"

    static func ligne(_ pairs: [(String, JSONValue)]) -> JSONValue { .object(JSONObject(pairs)) }

    static var usualLignes: [JSONValue] {
        [
            ligne([("compte_id", .string(compte)), ("libelle", .string("Vente é")), ("debit", .number("1234.50")), ("credit", .null)]),
            // Any key order (jsonb sorts them by length): normalised to compte_id, libelle, debit, credit.
            ligne([("debit", .null), ("credit", .number("-0.01")), ("libelle", .string("")), ("compte_id", .string(compte))]),
            ligne([("compte_id", .string(compte)), ("libelle", .string("x")), ("debit", .number("0")), ("credit", .number("12345678901234567890.123"))]),
            // An exponent is counted, and kept as written.
            ligne([("compte_id", .string(compte)), ("libelle", .string("x")), ("debit", .number("1e3")), ("credit", .null)]),
        ]
    }

    static var unusualLignes: [JSONValue] {
        [
            ligne([("compte_id", .string(compte.uppercased())), ("libelle", .string("x")), ("debit", .null), ("credit", .null)]),
            ligne([("compte_id", .null), ("libelle", .null), ("debit", .null), ("credit", .null)]),
        ]
    }

    static var badLignes: [JSONValue] {
        [
            ligne([("compte_id", .string(compte)), ("libelle", .string("x")), ("debit", .null)]),
            ligne([("compte_id", .string(compte)), ("libelle", .string("x")), ("debit", .null), ("credit", .null), ("extra", .null)]),
            ligne([("compte_id", .string(compte)), ("libelle", .string("a\u{0}b")), ("debit", .null), ("credit", .null)]),
            ligne([("compte_id", .string(compte)), ("libelle", .string("x")), ("debit", .string("12.5")), ("credit", .null)]),
            ligne([("compte_id", .string("not-a-uuid")), ("libelle", .string("x")), ("debit", .null), ("credit", .null)]),
            ligne([("compte_id", .string(compte)), ("libelle", .string("x")), ("debit", .number("1e131073")), ("credit", .null)]),
            .string("not an object"),
        ]
    }

    @Test("A usual line is normalised exactly as the field-by-field checks do")
    func usualLignesMatchTheChecks() throws {
        for ligne in Self.usualLignes {
            let usual = try #require(FieldSpec.usualLigne(ligne))
            #expect(usual == (try FieldSpec.checkedLigne(ligne, path: "lignes[0]")))
            #expect(usual.keys == ["compte_id", "libelle", "debit", "credit"])
        }
    }

    @Test("Other lines are left to the checks, which accept them or name what is wrong")
    func otherLignesGoThroughTheChecks() throws {
        for ligne in Self.unusualLignes {
            #expect(FieldSpec.usualLigne(ligne) == nil)
            let checked = try FieldSpec.checkedLigne(ligne, path: "lignes[0]")
            #expect(try FieldSpec.validateLignes(.array([ligne]), path: "lignes") == .array([.object(checked)]))
        }
        #expect(try FieldSpec.checkedLigne(Self.unusualLignes[0], path: "l")["compte_id"] == .string(Self.compte))
        for ligne in Self.badLignes {
            #expect(FieldSpec.usualLigne(ligne) == nil)
            #expect { try FieldSpec.validateLignes(.array([Self.usualLignes[0], ligne]), path: "lignes") } throws: { error in
                "\(error)".contains("lignes[1]")
            }
        }
    }

    @Test("Numbers: no longer than the smaller limit is in range at once; beyond, the digits are counted")
    func numberLengthBoundary() throws {
        let limit = min(StorableJSON.maxIntegerDigits, StorableJSON.maxFractionDigits)
        // At the shortcut's length: accepted.
        try StorableJSON.checkNumber("0." + String(repeating: "1", count: limit - 2), path: "n")
        // Longer: counted. As many fraction digits as allowed passes, one more fails.
        try StorableJSON.checkNumber("0." + String(repeating: "1", count: limit), path: "n")
        #expect(throws: FieldError.self) { try StorableJSON.checkNumber("0." + String(repeating: "1", count: limit + 1), path: "n") }
        // Trailing zeros do not count (the value is what PostgreSQL stores).
        try StorableJSON.checkNumber("1." + String(repeating: "0", count: limit + 5), path: "n")
        // An exponent always goes through the count.
        #expect(throws: FieldError.self) { try StorableJSON.checkNumber("1e131072", path: "n") }
        try StorableJSON.checkNumber("1e131071", path: "n")
    }

    @Test("UUIDs already canonical are kept as they are; any other form is canonicalised or refused")
    func canonicalUUIDs() {
        let uuid = Self.compte
        #expect(UUIDText.isCanonical(uuid))
        #expect(UUIDText.canonical(uuid) == uuid)
        #expect(!UUIDText.isCanonical(uuid.uppercased()))
        #expect(UUIDText.canonical(uuid.uppercased()) == uuid)
        #expect(!UUIDText.isCanonical(String(uuid.dropLast())))
        #expect(!UUIDText.isCanonical(uuid + "0"))
        #expect(UUIDText.canonical(uuid + "0") == nil)
        // A dash one place off.
        let shifted = "c000000-00000-4000-8000-00000000000a"
        #expect(!UUIDText.isCanonical(shifted) && UUIDText.canonical(shifted) == nil)
        #expect(!UUIDText.isCanonical("c0000000-0000-4000-8000-00000000000g"))
    }

    @Test("Strings are written with their escapes wherever they fall", arguments: [
        ("", #""""#),
        ("plain é 日本", #""plain é 日本""#),
        ("\"start", #""\"start""#),
        ("end\\", #""end\\""#),
        ("mid\ndle\tand\u{1}", #""mid\ndle\tand\u0001""#),
        ("\"\"", #""\"\"""#),
        (String(repeating: "long text ", count: 10) + "\u{1F}", "\"" + String(repeating: "long text ", count: 10) + "\\u001f\""),
    ])
    func stringsWithEscapes(text: String, expected: String) {
        var output: [UInt8] = []
        JSONValue.writeString(text, into: &output)
        #expect(String(decoding: output, as: UTF8.self) == expected)
    }

    @Test("Duplicate keys are found on either side of the size where the parser switches to a set", arguments: [
        JSONParser.keysScannedForDuplicates - 1, JSONParser.keysScannedForDuplicates, JSONParser.keysScannedForDuplicates + 1,
    ])
    func duplicateKeys(distinctKeys: Int) throws {
        let keys = (0..<distinctKeys).map { "\"k\($0)\":\($0)" }
        let valid = try JSONValue.parse("{" + keys.joined(separator: ",") + "}")
        #expect(valid.objectValue?.count == distinctKeys)
        for repeated in [0, distinctKeys - 1] {
            #expect(throws: JSONParseError.self) { try JSONValue.parse("{" + keys.joined(separator: ",") + ",\"k\(repeated)\":0}") }
        }
    }

    @Test("A string with no escape is taken from the input as it is, still checked as UTF-8")
    func stringsWithoutEscapes() throws {
        #expect(try JSONValue.parse(#"["abc","é","a\"b",""]"#) == .array([.string("abc"), .string("é"), .string("a\"b"), .string("")]))
        #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes: [0x5B, 0x22, 0xFF, 0x22, 0x5D]) }
    }
}
