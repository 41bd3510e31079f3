import AsyncHTTPClient
import CaeInitCore
import CaeInitPostgres
import CaeInitSinks
import CaeInitStore
import Logging

extension LiveEventDelivery {
    /// What a retry did with one dead letter.
    public struct RetryResult: Sendable {
        public let letter: DeadLetter
        /// nil when the key filter (or its subscription) is gone: the letter went with it.
        public let outcome: Outcome?

        /// Written, kept again for a key being initialised, or superseded (stale): the letter was deleted.
        public var resolved: Bool {
            switch outcome {
            case .written?, .kept?, .skippedAsStale?: return true
            case .deadLettered?, .ignored?, nil: return false
            }
        }
    }

    /// Delivers dead letters again through the same code as a live message, in (subscription, topic, partition,
    /// offset) order: what was kept for the key first, the stale-event guard, the sink with its retries. A letter
    /// delivered (or superseded, or kept again) is deleted; one that fails again stays, its attempts counted and
    /// its reason updated.
    public func retryDeadLetters(subscriptionId: String? = nil, id: Int64? = nil) async throws -> [RetryResult] {
        try await storePool.withConnection { connection in
            let letters = DeadLetterStore(connection: connection)
            let routes = LiveEventStore(connection: connection, sealer: self.sealer)
            var results: [RetryResult] = []
            for letter in try await letters.list(subscriptionId: subscriptionId, id: id) {
                guard let route = try await routes.route(subscriptionId: letter.subscriptionId, key: letter.event.key) else {
                    results.append(RetryResult(letter: letter, outcome: nil))
                    continue
                }
                let outcome = try await self.deliver(letter.event, content: Result { () throws(LiveEventError) in try letter.event.content() }, to: route, on: connection)
                let result = RetryResult(letter: letter, outcome: outcome)
                if result.resolved { try await letters.delete(id: letter.id) }
                results.append(result)
            }
            return results
        }
    }

    /// `retryDeadLetters` in a process of its own (`cae-init dead-letters retry`): its own HTTP client and
    /// connections, shut down before returning.
    public static func retryDeadLetters(
        storeConninfo: String, dossierConninfo: String? = nil, sealer: SinkSealer, subscriptionId: String?, id: Int64?, logger: Logger
    ) async throws -> [RetryResult] {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.connectionPool.retryConnectionEstablishment = false
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let delivery = LiveEventDelivery(
            storeConninfo: storeConninfo, dossierConninfo: dossierConninfo, sealer: sealer,
            sinkFactory: SinkFactory(httpClient: httpClient, logger: logger), logger: logger
        )
        do {
            let results = try await delivery.retryDeadLetters(subscriptionId: subscriptionId, id: id)
            await delivery.shutdown()
            try await httpClient.shutdown()
            return results
        } catch {
            await delivery.shutdown()
            try? await httpClient.shutdown()
            throw error
        }
    }
}
