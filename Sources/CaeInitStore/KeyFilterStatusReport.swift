import CaeInitCore

/// A summary of the filters by status, with who holds the pending ones.
public struct KeyFilterStatusReport: Sendable {
    public struct PendingFilter: Sendable {
        public let subscriptionId: String
        public let key: String
        public let initializer: String?
        public let attempt: Int
        public let leaseExpiresAt: String
        public let leaseExpired: Bool
    }

    public struct FailedFilter: Sendable {
        public let subscriptionId: String
        public let key: String
        public let message: String?
    }

    public let counts: [KeyFilterStatus: Int]
    public let pending: [PendingFilter]
    public let failed: [FailedFilter]
    /// `new` filters waiting for a backoff to end or for their subscription to be resumed.
    public let waiting: Int
}
