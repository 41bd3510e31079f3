/// A credential whose text never reaches a log, a report or an error: printing it shows the masked form.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself: read it only to sign a request.
    public let value: String

    public init(_ value: String) { self.value = value }

    /// SPEC §2: the first 3 characters, then `*` for the rest. A secret of 3 characters or fewer is all `*`, so
    /// that masking never shows a whole secret.
    public var masked: String { Self.mask(value) }

    public static func mask(_ value: String) -> String {
        let count = value.count
        guard count > 3 else { return String(repeating: "*", count: count) }
        return String(value.prefix(3)) + String(repeating: "*", count: count - 3)
    }

    public var description: String { masked }
    public var debugDescription: String { masked }
}
