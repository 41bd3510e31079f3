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
        /// The run's progress as of its last heartbeat; nil before the first one after the snapshot opened.
        public let progress: ProgressEstimate?
        /// When that progress was taken (epoch milliseconds).
        public let progressUpdatedAt: Int64?

        init(subscriptionId: String, key: String, initializer: String?, attempt: Int, leaseExpiresAt: String, leaseExpired: Bool, progress: Progress) {
            self.subscriptionId = subscriptionId
            self.key = key
            self.initializer = initializer
            self.attempt = attempt
            self.leaseExpiresAt = leaseExpiresAt
            self.leaseExpired = leaseExpired
            if let written = progress.written, let total = progress.total, let startedAt = progress.startedAt, let updatedAt = progress.updatedAt {
                self.progress = ProgressEstimate(written: Int(written), total: Int(total), elapsedMilliseconds: updatedAt - startedAt)
                self.progressUpdatedAt = updatedAt
            } else {
                self.progress = nil
                self.progressUpdatedAt = nil
            }
        }
    }

    /// The stored `progress` numbers of a pending report, each nil when missing or malformed.
    struct Progress {
        let written: Int64?
        let total: Int64?
        let startedAt: Int64?
        let updatedAt: Int64?
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
