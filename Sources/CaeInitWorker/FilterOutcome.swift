import CaeInitStore

/// What a worker prints or records about each filter it handled.
public struct FilterOutcome: Sendable {
    public enum Status: String, Sendable {
        case ready, failed, retrying, released, discarded
    }

    public let subscriptionId: String
    public let key: String
    public let attempt: Int
    public let status: Status
    /// The failure reason, or the summary of what was written.
    public let detail: String
    public let result: InitialisationResult?
}

/// Receives each outcome as it happens (the CLI prints them; tests collect them).
public typealias OutcomeHandler = @Sendable (FilterOutcome) -> Void
