/// One version of one journal, compte or écriture: what one file holds.
public struct ObjectVersion: Sendable, Equatable {
    public let kind: ObjectKind
    /// Canonical UUID text.
    public let id: String
    /// Epoch milliseconds, inclusive.
    public let validFrom: Int64
    /// Epoch milliseconds, exclusive; 0 means "current".
    public let validTo: Int64
    /// The kind's fields, in the order of `kind.fields`.
    public let fields: [JSONValue]

    public init(kind: ObjectKind, id: String, validFrom: Int64, validTo: Int64, fields: [JSONValue]) {
        precondition(fields.count == kind.fields.count, "\(kind) expects \(kind.fields.count) fields")
        self.kind = kind
        self.id = id
        self.validFrom = validFrom
        self.validTo = validTo
        self.fields = fields
    }

    public var isCurrent: Bool { validTo == 0 }

    /// SPEC §4: `validFrom <= t` and (`validTo == 0` or `t < validTo`).
    public func isValid(at instant: Int64) -> Bool {
        validFrom <= instant && (validTo == 0 || instant < validTo)
    }

    /// The file's object name relative to the folder: `<kind>/<id>_<validFrom>.json`.
    public var relativeName: String { "\(kind.rawValue)/\(id)_\(validFrom).json" }
}

/// A situation period: its reference date selects the history versions to write.
public struct SituationPeriod: Sendable, Equatable {
    public let id: String
    /// Epoch milliseconds, inclusive.
    public let referenceDate: Int64
    public let libelle: String?

    public init(id: String, referenceDate: Int64, libelle: String?) {
        self.id = id
        self.referenceDate = referenceDate
        self.libelle = libelle
    }
}
