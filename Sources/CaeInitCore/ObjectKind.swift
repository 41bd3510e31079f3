/// The three kinds of accounting object an initialisation writes, with their fields (SPEC §5).
public enum ObjectKind: String, Sendable, CaseIterable, Hashable {
    case journal
    case compte
    case ecriture

    /// The key of the kind's array in a fixture file.
    public var fixtureKey: String {
        switch self {
        case .journal: return "journals"
        case .compte: return "comptes"
        case .ecriture: return "ecritures"
        }
    }

    /// The kind's fields besides `id`, `validFrom` and `validTo`, in document order. The first is always
    /// `application_id`. Built once: it is read for every row.
    public var fields: [FieldSpec] {
        switch self {
        case .journal: return Self.journalFields
        case .compte: return Self.compteFields
        case .ecriture: return Self.ecritureFields
        }
    }

    private static let journalFields: [FieldSpec] = [
        FieldSpec("application_id", column: "application_id", .uuid),
        FieldSpec("code", column: "code", .text),
        FieldSpec("libelle", column: "libelle", .text),
        FieldSpec("compteContrepartie_id", column: "compte_contrepartie_id", .uuid),
        FieldSpec("typeContrepartie", column: "type_contrepartie", .int32),
        FieldSpec("type", column: "type", .int32),
        FieldSpec("ferme", column: "ferme", .bool),
    ]

    private static let compteFields: [FieldSpec] = [
        FieldSpec("application_id", column: "application_id", .uuid),
        FieldSpec("numero", column: "numero", .text),
        FieldSpec("libelle", column: "libelle", .text),
        FieldSpec("type", column: "type", .int32),
        FieldSpec("lettrable", column: "lettrable", .bool),
        FieldSpec("ferme", column: "ferme", .bool),
        FieldSpec("compteCollectif_id", column: "compte_collectif_id", .uuid),
    ]

    private static let ecritureFields: [FieldSpec] = [
        FieldSpec("application_id", column: "application_id", .uuid),
        FieldSpec("journal_id", column: "journal_id", .uuid),
        FieldSpec("dateEcriture", column: "date_ecriture", .int64),
        FieldSpec("numeroPiece", column: "numero_piece", .text),
        FieldSpec("libelle", column: "libelle", .text),
        FieldSpec("lignes", column: "lignes", .lignes),
    ]
}

/// One field of a kind: its JSON name, its column, its type. Every field may be `null`.
public struct FieldSpec: Sendable, Hashable {
    public enum FieldType: Sendable, Hashable {
        case uuid, text, int32, int64, bool
        /// An écriture's lines: an array of `{compte_id, libelle, debit, credit}`.
        case lignes

        public var sqlType: String {
            switch self {
            case .uuid: return "uuid"
            case .text: return "text"
            case .int32: return "integer"
            case .int64: return "bigint"
            case .bool: return "boolean"
            case .lignes: return "jsonb"
            }
        }
    }

    public let name: String
    public let column: String
    public let type: FieldType

    public init(_ name: String, column: String, _ type: FieldType) {
        self.name = name
        self.column = column
        self.type = type
    }
}
