import CaeInitCore

/// A key filter held by one worker. Every later write about the filter is conditional on `claimId`: a reset,
/// a delete or another worker's claim after the lease expired changes it, and the holder's writes then do nothing.
public struct Claim: Sendable, Equatable {
    public let subscriptionId: String
    /// The dossier's `entite_id`.
    public let key: String
    public let claimId: String
    /// 1 for the first run, counting runs whose worker died.
    public let attempt: Int
    public let initializer: String
    /// The subscription's `sink` as stored (secrets included: never log it).
    public let sink: JSONValue
    public let filters: JSONObject?
    public let initWithHistory: Bool
    /// What is wrong with the stored subscription (a sink that does not open, filters that are not an object):
    /// the filter fails with it before anything is written.
    public let problem: String?

    public init(subscriptionId: String, key: String, claimId: String, attempt: Int, initializer: String, sink: JSONValue, filters: JSONObject?, initWithHistory: Bool, problem: String? = nil) {
        self.subscriptionId = subscriptionId
        self.key = key
        self.claimId = claimId
        self.attempt = attempt
        self.initializer = initializer
        self.sink = sink
        self.filters = filters
        self.initWithHistory = initWithHistory
        self.problem = problem
    }

    /// `<subscription id>/<key>`, for logs.
    public var filterName: String { "\(subscriptionId)/\(key)" }
}
