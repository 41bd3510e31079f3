import CaeInitCore

/// SplitMix64: a small seeded generator, so a failing random case can be replayed from its seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uuid() -> String {
        let hex = Array("0123456789abcdef")
        var characters = (0..<32).map { _ in hex[Int(next() % 16)] }
        characters[12] = "4"
        characters[16] = hex[8 + Int(next() % 4)]
        let s = String(characters)
        let i = s.startIndex
        func part(_ a: Int, _ b: Int) -> Substring { s[s.index(i, offsetBy: a)..<s.index(i, offsetBy: b)] }
        return "\(part(0, 8))-\(part(8, 12))-\(part(12, 16))-\(part(16, 20))-\(part(20, 32))"
    }

    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
}

/// A random dossier in the fixture format: version chains with gaps and deletions, reference dates often on
/// version boundaries, text with Unicode, quotes and control characters, decimals a Double cannot hold, nulls.
struct RandomDossier {
    struct Version {
        let kind: ObjectKind
        let id: String
        let validFrom: Int64
        let validTo: Int64
        /// The kind's fields, by JSON name, as the fixture gives them.
        let fields: [(String, JSONValue)]
    }

    let entiteId: String
    let referenceDates: [Int64]
    let versions: [Version]

    init(seed: UInt64, maxObjectsPerKind: Int = 6) {
        var random = SeededRandom(seed: seed)
        entiteId = random.uuid()
        var versions: [Version] = []
        var boundaries: [Int64] = []
        for kind in ObjectKind.allCases {
            for _ in 0..<Int(random.next() % UInt64(maxObjectsPerKind + 1)) {
                let id = random.uuid()
                var start = Int64(random.next() % 50) * 1000
                let count = 1 + Int(random.next() % 4)
                for index in 0..<count {
                    let isLast = index == count - 1
                    let end: Int64 = isLast && random.chance(0.65) ? 0 : start + Int64(1 + random.next() % 20) * (random.chance(0.2) ? 1 : 1000)
                    versions.append(Version(kind: kind, id: id, validFrom: start, validTo: end, fields: Self.fields(kind, &random)))
                    boundaries.append(start)
                    if end == 0 { break }
                    boundaries.append(end)
                    start = random.chance(0.3) ? end + Int64(1 + random.next() % 5) * 1000 : end
                }
            }
        }
        var dates: [Int64] = []
        for _ in 0..<Int(random.next() % 5) {
            if !boundaries.isEmpty && random.chance(0.7) {
                dates.append(boundaries[Int(random.next() % UInt64(boundaries.count))] + [-1, 0, 0, 1][Int(random.next() % 4)])
            } else {
                dates.append(Int64(random.next() % 120) * 1000)
            }
        }
        referenceDates = dates
        self.versions = versions
    }

    static let texts = ["Opérations diverses", "Ventes", "Clients — créances « export » 日本 🧾", "quote \" and \\ backslash", "tab\tnew\nline\u{01}\u{1F}", "", "A"]
    static let amounts = ["0.00", "1.10", "123.45", "9999999999999999.99", "0", "1000000000000000000000.01", "-12.5"]

    static func fields(_ kind: ObjectKind, _ random: inout SeededRandom) -> [(String, JSONValue)] {
        func text() -> JSONValue { random.chance(0.15) ? .null : .string(texts[Int(random.next() % UInt64(texts.count))]) }
        func uuidOrNull() -> JSONValue { random.chance(0.3) ? .null : .string(random.uuid()) }
        func int() -> JSONValue { .number(String(Int(random.next() % 10))) }
        func bool() -> JSONValue { .bool(random.chance(0.5)) }
        func amount() -> JSONValue { random.chance(0.1) ? .null : .number(amounts[Int(random.next() % UInt64(amounts.count))]) }
        switch kind {
        case .journal:
            return [("application_id", .string(random.uuid())), ("code", text()), ("libelle", text()), ("compteContrepartie_id", uuidOrNull()),
                    ("typeContrepartie", int()), ("type", int()), ("ferme", bool())]
        case .compte:
            return [("application_id", .string(random.uuid())), ("numero", text()), ("libelle", text()), ("type", int()),
                    ("lettrable", bool()), ("ferme", bool()), ("compteCollectif_id", uuidOrNull())]
        case .ecriture:
            let lignes = (0..<Int(random.next() % 4)).map { _ -> JSONValue in
                ["compte_id": uuidOrNull(), "libelle": text(), "debit": amount(), "credit": amount()]
            }
            return [("application_id", .string(random.uuid())), ("journal_id", uuidOrNull()), ("dateEcriture", .number(String(random.next() % 2_000_000_000_000))),
                    ("numeroPiece", text()), ("libelle", text()), ("lignes", .array(lignes))]
        }
    }

    /// The fixture file (SPEC §6).
    var fixtureJSON: String {
        var root = JSONObject()
        root.appendUnchecked("entite_id", .string(entiteId))
        root.appendUnchecked("situationPeriods", .array(referenceDates.enumerated().map { index, date in
            ["id": .string("00000000-0000-4000-8000-\(String(repeating: "0", count: 11))\(index)"), "referenceDate": .number(String(date)), "libelle": .string("P\(index)")]
        }))
        for kind in ObjectKind.allCases {
            root.appendUnchecked(kind.fixtureKey, .array(versions.filter { $0.kind == kind }.map { version in
                var object = JSONObject([("id", .string(version.id))])
                for (name, value) in version.fields { object.appendUnchecked(name, value) }
                object.appendUnchecked("validFrom", .number(String(version.validFrom)))
                object.appendUnchecked("validTo", .number(String(version.validTo)))
                return .object(object)
            }))
        }
        return JSONValue.object(root).serialized()
    }

    /// SPEC §4 computed the naive way, independently of the core's rules: every current version, and for each
    /// reference date, each object's version valid at it when that version is not current.
    func expectedFiles(withHistory: Bool, folder: String? = nil) -> [String: JSONValue] {
        var expected: [String: JSONValue] = [:]
        func add(_ version: Version) {
            var document = JSONObject()
            document.appendUnchecked("entite_id", .string(entiteId))
            document.appendUnchecked("timestamp", .number(String(version.validFrom)))
            document.appendUnchecked("id", .string(version.id))
            for (name, value) in version.fields { document.appendUnchecked(name, value) }
            document.appendUnchecked("validFrom", .number(String(version.validFrom)))
            document.appendUnchecked("validTo", .number(String(version.validTo)))
            expected["\(folder ?? entiteId)/\(version.kind.rawValue)/\(version.id)_\(version.validFrom).json"] = .object(document)
        }
        for version in versions where version.validTo == 0 { add(version) }
        if withHistory {
            for date in referenceDates {
                for version in versions where version.validTo != 0 && version.validFrom <= date && date < version.validTo {
                    add(version)
                }
            }
        }
        return expected
    }
}
