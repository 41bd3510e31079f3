import CaeInitCore
import CaeInitPostgres

extension LiveEventStore {
    /// A subscription a message may go to, with the key's filter status and the sink opened as the worker opens it.
    public struct Route: Sendable {
        public let subscriptionId: String
        /// The dossier's `entite_id`, canonical UUID text.
        public let key: String
        public let subscriber: LiveEventSubscriber
        /// The validated sink, or why it cannot be used (a secret sealed under an unknown key, an invalid sink):
        /// the message is then dead-lettered for this subscription with that reason.
        public let sink: Result<SinkConfiguration, RouteProblem>
        /// The stored sink's text: it changes whenever the sink does, so a cached sink is dropped then. Never shown.
        public let sinkFingerprint: String
        /// The sink's secrets, scrubbed from every reason recorded or logged.
        public let secrets: [Secret]
        /// Events were kept for the key when the route was read (see `LiveEventStore.hasKeptColumn`).
        public let hasKeptEvents: Bool

        public var status: KeyFilterStatus? { subscriber.keyStatus }

        public init(subscriptionId: String, key: String, subscriber: LiveEventSubscriber, sink: Result<SinkConfiguration, RouteProblem>, sinkFingerprint: String, secrets: [Secret], hasKeptEvents: Bool) {
            self.subscriptionId = subscriptionId
            self.key = key
            self.subscriber = subscriber
            self.sink = sink
            self.sinkFingerprint = sinkFingerprint
            self.secrets = secrets
            self.hasKeptEvents = hasKeptEvents
        }
    }

    /// Why a subscription's stored sink cannot be used; names fields, never a secret.
    public struct RouteProblem: Error, Sendable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// A row of `routes`: id, key, suspended, topics, sink, filters, status, has kept events.
    func decodeRoute(_ row: PostgresRow) throws(PostgresError) -> Route {
        let (id, key, suspended, topicsText, sinkText, filtersText, statusText, hasKept) = try row.decode(
            String.self, String.self, Bool.self, String.self, String.self, String?.self, String.self, Bool.self)
        let topics = ((try? JSONValue.parse(topicsText))?.arrayValue ?? []).compactMap(\.stringValue)
        let filters = filtersText.flatMap { try? JSONValue.parse($0) }?.objectValue
        var secrets: [Secret] = []
        let sink: Result<SinkConfiguration, RouteProblem>
        do {
            guard let stored = try JSONValue.parse(sinkText).objectValue else { throw RouteProblem("the stored sink is not an object") }
            let opened = try sealer.open(stored)
            if let credentials = opened["credentials"]?.objectValue {
                secrets = SinkConfiguration.secretFields.sorted().compactMap { credentials[$0]?.stringValue.map(Secret.init) }
            }
            sink = .success(try SinkConfiguration(json: .object(opened)))
        } catch let problem as RouteProblem {
            sink = .failure(problem)
        } catch {
            sink = .failure(RouteProblem("invalid sink: \(SecretScrubber(secrets).scrub(String(describing: error)))"))
        }
        let subscriber = LiveEventSubscriber(
            topics: topics, suspended: suspended, keyStatus: KeyFilterStatus(rawValue: statusText),
            filter: DocumentFilter(filters ?? JSONObject())
        )
        return Route(subscriptionId: id, key: key, subscriber: subscriber, sink: sink, sinkFingerprint: sinkText, secrets: secrets, hasKeptEvents: hasKept)
    }
}
