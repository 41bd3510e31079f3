/// Input refused because of one field: `path` names it the way an operator finds it in the file
/// (`keyFilters[2].key`, `ecritures[41].lignes[0].debit`).
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(_ path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}
