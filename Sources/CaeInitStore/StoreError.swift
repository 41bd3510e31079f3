/// Why a subscription-store operation was refused (not a database fault).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case subscriptionNotFound, keyFilterNotFound, invalidInput, sealedSecret
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
