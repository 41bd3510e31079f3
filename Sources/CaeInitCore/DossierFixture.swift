/// One dossier in the fixture format of SPEC §6, validated: every field typed, every object's versions a
/// proper chain. Versions with `validTo = 0` are current, the others history.
public struct DossierFixture: Sendable, Equatable {
    public let entiteId: String
    public let periods: [SituationPeriod]
    public let versions: [ObjectKind: [ObjectVersion]]

    public init(entiteId: String, periods: [SituationPeriod], versions: [ObjectKind: [ObjectVersion]]) {
        self.entiteId = entiteId
        self.periods = periods
        self.versions = versions
    }

    /// Parses and validates a fixture file's text; errors name the line (syntax) or the field (content).
    public static func parse(_ text: String) throws(FieldError) -> DossierFixture {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch { throw FieldError("", "not valid JSON: \(error)") }
        return try parse(value)
    }

    public static func parse(_ value: JSONValue) throws(FieldError) -> DossierFixture {
        let root = try FieldReader(value, path: "")
        try root.refuseUnknown(allowed: ["entite_id", "situationPeriods", "journals", "comptes", "ecritures"])
        let entiteText = try root.string("entite_id")
        guard let entiteId = UUIDText.canonical(entiteText) else {
            throw FieldError("entite_id", "\"\(entiteText.prefix(60))\" is not a UUID")
        }

        var periods: [SituationPeriod] = []
        var periodIds = Set<String>()
        for (i, element) in try array(root, "situationPeriods").enumerated() {
            let period = try FieldReader(element, path: "situationPeriods[\(i)]")
            try period.refuseUnknown(allowed: ["id", "referenceDate", "libelle"])
            let id = try uuid(period, "id")
            guard periodIds.insert(id).inserted else { throw FieldError(period.fieldPath("id"), "period \(id) is listed twice") }
            periods.append(SituationPeriod(id: id, referenceDate: try period.int64("referenceDate"), libelle: try period.optionalString("libelle")))
        }

        var versions: [ObjectKind: [ObjectVersion]] = [:]
        for kind in ObjectKind.allCases {
            var kindVersions: [ObjectVersion] = []
            let allowed = Set(kind.fields.map(\.name) + ["id", "validFrom", "validTo", "entite_id", "timestamp"])
            for (i, element) in try array(root, kind.fixtureKey).enumerated() {
                let entry = try FieldReader(element, path: "\(kind.fixtureKey)[\(i)]")
                try entry.refuseUnknown(allowed: allowed)
                if let owner = entry.object["entite_id"] {
                    guard let text = owner.stringValue, UUIDText.canonical(text) == entiteId else {
                        throw FieldError(entry.fieldPath("entite_id"), "does not match the dossier's entite_id \(entiteId)")
                    }
                }
                let id = try uuid(entry, "id")
                let validFrom = try entry.int64("validFrom")
                let validTo = try entry.int64("validTo")
                guard validFrom >= 0 else { throw FieldError(entry.fieldPath("validFrom"), "must not be negative") }
                guard validTo >= 0 else { throw FieldError(entry.fieldPath("validTo"), "must not be negative") }
                if let timestamp = entry.object["timestamp"] {
                    guard try FieldReader.int64(timestamp, path: entry.fieldPath("timestamp")) == validFrom else {
                        throw FieldError(entry.fieldPath("timestamp"), "must equal validFrom")
                    }
                }
                var fields: [JSONValue] = []
                for spec in kind.fields {
                    fields.append(try spec.validate(try entry.required(spec.name), path: entry.fieldPath(spec.name)))
                }
                kindVersions.append(ObjectVersion(kind: kind, id: id, validFrom: validFrom, validTo: validTo, fields: fields))
            }
            try validateChains(kindVersions, kind: kind)
            versions[kind] = kindVersions
        }
        return DossierFixture(entiteId: entiteId, periods: periods, versions: versions)
    }

    private static func array(_ root: FieldReader, _ key: String) throws(FieldError) -> [JSONValue] {
        guard let value = root.object[key], !value.isNull else { return [] }
        guard let array = value.arrayValue else { throw FieldError(key, "expected an array, found \(value.typeName)") }
        return array
    }

    private static func uuid(_ reader: FieldReader, _ key: String) throws(FieldError) -> String {
        let text = try reader.string(key)
        guard let uuid = UUIDText.canonical(text) else {
            throw FieldError(reader.fieldPath(key), "\"\(text.prefix(60))\" is not a UUID")
        }
        return uuid
    }

    /// Refuses broken history at load time, naming the entries involved.
    private static func validateChains(_ versions: [ObjectVersion], kind: ObjectKind) throws(FieldError) {
        var indexesById: [String: [Int]] = [:]
        for (i, version) in versions.enumerated() { indexesById[version.id, default: []].append(i) }
        for (id, indexes) in indexesById.sorted(by: { $0.value[0] < $1.value[0] }) {
            let path = "\(kind.fixtureKey)[\(indexes.map(String.init).joined(separator: ","))]"
            let chain = indexes.map { versions[$0] }.sorted { ($0.validFrom, $0.validTo) < ($1.validFrom, $1.validTo) }
            if chain.filter(\.isCurrent).count > 1 {
                throw FieldError(path, "\(kind.rawValue) \(id) has more than one current version (validTo 0)")
            }
            do {
                try HistoryRules.validate(chain: chain)
            } catch {
                throw FieldError(path, error.description)
            }
        }
    }
}
