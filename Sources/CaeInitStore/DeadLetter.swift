import CaeInitCore

/// A message one subscription could not take (its sink refused it after the retries, an unsafe folder, a malformed
/// document), kept with the reason until it is retried or discarded. The reason never holds a secret.
public struct DeadLetter: Sendable, Equatable {
    public let id: Int64
    public let subscriptionId: String
    /// The message as consumed: key, topic, partition, offset, `kind` header and value.
    public let event: LiveEvent
    public let reason: String
    public let attempts: Int
    /// ISO-8601 UTC, milliseconds.
    public let firstFailureAt: String
    public let lastFailureAt: String

    public init(id: Int64, subscriptionId: String, event: LiveEvent, reason: String, attempts: Int, firstFailureAt: String, lastFailureAt: String) {
        self.id = id
        self.subscriptionId = subscriptionId
        self.event = event
        self.reason = reason
        self.attempts = attempts
        self.firstFailureAt = firstFailureAt
        self.lastFailureAt = lastFailureAt
    }
}
