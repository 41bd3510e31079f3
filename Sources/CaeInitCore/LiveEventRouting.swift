/// What a subscription does with a live event (SPEC §9): written when the subscription lists the topic, is not
/// suspended, has the key `ready` and its `filters` match the value; kept for the hand-off while the key is `new`
/// or `pending`; nothing otherwise.
public enum LiveEventAction: Sendable, Equatable {
    case write
    /// Kept in PostgreSQL until the key filter is `ready`, then replayed before any later event of the key.
    case keep
    case ignore(LiveEventIgnoreReason)
}

public enum LiveEventIgnoreReason: String, Sendable, Equatable {
    case topicNotListed = "the subscription does not list the topic"
    case suspended = "the subscription is suspended"
    case keyAbsent = "the key is not among the subscription's key filters"
    case keyFailed = "the key filter failed its initialisation"
    case filtersDoNotMatch = "the subscription's filters do not match the value"
}

/// One subscription as routing sees it.
public struct LiveEventSubscriber: Sendable, Equatable {
    public var topics: [String]
    public var suspended: Bool
    /// The status of the event key's filter; nil when the key is not among the key filters.
    public var keyStatus: KeyFilterStatus?
    public var filter: DocumentFilter

    public init(topics: [String], suspended: Bool, keyStatus: KeyFilterStatus?, filter: DocumentFilter) {
        self.topics = topics
        self.suspended = suspended
        self.keyStatus = keyStatus
        self.filter = filter
    }
}

public enum LiveEventRouting {
    /// - Parameter document: the event's value (its `filters` are matched against it).
    public static func action(topic: String, document: JSONObject, subscriber: LiveEventSubscriber) -> LiveEventAction {
        guard subscriber.topics.contains(topic) else { return .ignore(.topicNotListed) }
        guard !subscriber.suspended else { return .ignore(.suspended) }
        guard let status = subscriber.keyStatus else { return .ignore(.keyAbsent) }
        guard subscriber.filter.matches(document) else { return .ignore(.filtersDoNotMatch) }
        switch status {
        case .ready: return .write
        case .new, .pending: return .keep
        case .failed: return .ignore(.keyFailed)
        }
    }
}

/// The stale-event guard of the hand-off (README, "Hand-off"): an event saying a version is current is skipped
/// when the database already holds that version as ended; an ended event is always written. A version's name
/// only moves forward (current, then ended once), and the event that ended it comes later in the same partition,
/// so skipping never loses the final state and never puts a file back to an older one.
public enum StaleEventGuard {
    /// - Parameter databaseHoldsEnded: the kind's history table holds a row with this id and validFrom.
    public static func shouldWrite(_ version: ObjectVersion, databaseHoldsEnded: Bool) -> Bool {
        !version.isCurrent || !databaseHoldsEnded
    }
}
