import CaeInitCore
import CaeInitPostgres
import CaeInitSinks

/// Why an initialisation did not complete, and what the worker does about it.
public struct InitialisationError: Error, Sendable, CustomStringConvertible {
    public enum Disposition: String, Sendable {
        /// Bad configuration or data: `failed` at once, retrying cannot help.
        case permanent
        /// The sink or the database may come back: retried later with backoff.
        case transient
        /// The claim was taken away (reset, removed, lease lost): nothing more is written.
        case claimLost
        /// The worker is shutting down: the filter goes back to `new` untouched.
        case cancelled
    }

    public let disposition: Disposition
    /// The reason, in words an operator can act on; never a secret.
    public let message: String

    public init(_ disposition: Disposition, _ message: String) {
        self.disposition = disposition
        self.message = message
    }

    public var description: String { message }

    /// Classifies whatever a run threw.
    public static func classify(_ error: any Error) -> InitialisationError {
        switch error {
        case let error as InitialisationError:
            return error
        case let error as SinkError:
            if error.isCancellation { return InitialisationError(.cancelled, "cancelled") }
            return InitialisationError(error.isRetryable ? .transient : .permanent, error.description)
        case let error as FolderNameError:
            return InitialisationError(.permanent, error.description)
        case let error as BrokenHistoryError:
            return InitialisationError(.permanent, error.description)
        case let error as FieldError:
            return InitialisationError(.permanent, "invalid stored data: \(error)")
        case let error as PostgresError:
            if error.code == .cancelled { return InitialisationError(.cancelled, "cancelled") }
            return InitialisationError(error.isTransient ? .transient : .permanent, "dossier database: \(error)")
        case is CancellationError:
            return InitialisationError(.cancelled, "cancelled")
        default:
            return InitialisationError(.transient, "unexpected error: \(error)")
        }
    }
}
