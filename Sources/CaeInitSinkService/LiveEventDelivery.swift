import CaeInitCore
import CaeInitKafka
import CaeInitPostgres
import CaeInitSinks
import CaeInitStore
import Logging

/// The Sink Service's `LiveEventHandler`: routes each message (SPEC §9) and, per subscription, writes it to the
/// sink (a `ready` key, after replaying what was kept for it), keeps it in PostgreSQL (a `new` or `pending` key,
/// the hand-off), or dead-letters it with the reason (a sink that still refuses after its `retryPolicy`, an unsafe
/// folder, a malformed document). One subscription's trouble never stops the others: `deliver` throws only when
/// the store or the dossier database cannot be reached (the message is then not committed and comes again).
///
/// Object-version events go through the stale-event guard (README, "Hand-off"). Writes to one subscription's sink
/// share one cached sink, made again when the subscription's sink changes.
public final class LiveEventDelivery: LiveEventHandler, Sendable {
    let storePool: PostgresConnectionPool
    let dossierPool: PostgresConnectionPool
    let sealer: SinkSealer
    let sinks: SinkCache
    let metrics: Counters
    let logger: Logger

    /// What happened to a message for one subscription.
    public enum Outcome: Sendable, Equatable {
        case written(objectName: String)
        case kept
        /// An object-version event saying "current" for a version the database holds as ended.
        case skippedAsStale
        case deadLettered(reason: String)
        case ignored(LiveEventIgnoreReason)
    }

    /// - Parameters:
    ///   - storeConninfo: the subscription store (routes, kept events, dead letters).
    ///   - dossierConninfo: the dossier data (the stale-event guard); the store's database unless set apart.
    ///   - sinkFactory: makes the sinks; its HTTP client belongs to the caller.
    public init(storeConninfo: String, dossierConninfo: String? = nil, sealer: SinkSealer = .plaintext, sinkFactory: SinkFactory, logger: Logger) {
        self.storePool = PostgresConnectionPool(conninfo: storeConninfo, maximumConnections: 4, applicationName: "cae-init sink-service")
        self.dossierPool = PostgresConnectionPool(conninfo: dossierConninfo ?? storeConninfo, maximumConnections: 2, applicationName: "cae-init sink-service dossiers")
        self.sealer = sealer
        self.sinks = SinkCache(factory: sinkFactory, logger: logger)
        self.metrics = Counters()
        self.logger = logger
    }

    // MARK: LiveEventHandler

    public func deliver(_ message: KafkaMessage) async throws {
        _ = try await deliverReporting(message)
    }

    public func activeTopics() async throws -> Set<String> {
        try await storePool.withConnection { connection in
            try await LiveEventStore(connection: connection, sealer: self.sealer).activeTopics()
        }
    }

    /// `deliver`, telling what happened for each subscription concerned (subscription id → outcome); empty when the
    /// message concerns none (no key, or a key no subscription of its topic lists): skipped and counted.
    public func deliverReporting(_ message: KafkaMessage) async throws -> [String: Outcome] {
        guard let key = LiveEvent.key(from: message.key) else {
            metrics.unrouted.increment()
            logger.debug("message skipped: no key, or a key that is no UUID", metadata: ["topic": "\(message.topic)", "partition": "\(message.partition)", "offset": "\(message.offset)"])
            return [:]
        }
        let event = LiveEvent(topic: message.topic, partition: message.partition, offset: message.offset, key: key, kindHeader: message.header("kind"), value: message.value)
        // Parsed once for all the subscriptions of the message.
        let content = Result { () throws(LiveEventError) in try event.content() }
        return try await storePool.withConnection { connection in
            let routes = try await LiveEventStore(connection: connection, sealer: self.sealer).routes(topic: event.topic, key: key)
            if routes.isEmpty { self.metrics.unrouted.increment() }
            var outcomes: [String: Outcome] = [:]
            for route in routes {
                outcomes[route.subscriptionId] = try await self.deliver(event, content: content, to: route, on: connection)
            }
            return outcomes
        }
    }

    /// Replays what was kept for a key whose filter is `ready` (the hand-off drain; a live event of the key does
    /// it first too). Returns how many kept events were handled; 0 when the filter is not `ready` or the key not
    /// among the subscription's filters.
    @discardableResult
    public func drainKept(subscriptionId: String, key: String) async throws -> Int {
        try await storePool.withConnection { connection in
            guard let route = try await LiveEventStore(connection: connection, sealer: self.sealer).route(subscriptionId: subscriptionId, key: key),
                  route.status == .ready, !route.subscriber.suspended else { return 0 }
            return try await self.drain(route, on: connection)
        }
    }

    /// Drops the cached sinks (all, or one subscription's): the next write makes them again from the stored sink.
    public func forgetSinks(subscriptionId: String? = nil) async {
        await sinks.drop(subscriptionId: subscriptionId)
    }

    /// Shuts the cached sinks and the connection pools down.
    public func shutdown() async {
        await sinks.drop(subscriptionId: nil)
        await storePool.close()
        await dossierPool.close()
    }

    // MARK: Per subscription

    /// One subscription's part of a message, `parsed` being `event.content()`. Throws only for the store, the
    /// dossier database or cancellation.
    func deliver(_ event: LiveEvent, content parsed: Result<LiveEventContent, LiveEventError>, to route: LiveEventStore.Route, on connection: PostgresConnection) async throws -> Outcome {
        let content: LiveEventContent
        switch parsed {
        case .success(let value):
            content = value
        case .failure(let error):
            // Unreadable, so neither routable by `filters` nor writable: dead-lettered for every subscription that
            // would take (or keep) the key's events.
            let subscriber = route.subscriber
            if !subscriber.topics.contains(event.topic) { return .ignored(.topicNotListed) }
            if subscriber.suspended { return .ignored(.suspended) }
            switch subscriber.keyStatus {
            case nil: return .ignored(.keyAbsent)
            case .failed?: return .ignored(.keyFailed)
            case .new?, .pending?, .ready?: return try await deadLetter(event, route: route, reason: error.description, on: connection)
            }
        }
        switch LiveEventRouting.action(topic: event.topic, document: content.document, subscriber: route.subscriber) {
        case .ignore(let reason):
            return .ignored(reason)
        case .keep:
            let status = try await LiveEventStore(connection: connection, sealer: sealer).keep(event, subscriptionId: route.subscriptionId)
            switch status {
            case .new?, .pending?:
                metrics.kept.increment()
                return .kept
            case .ready?:
                // Became ready between the routes and the lock: what was kept is replayed first, then this one.
                try await drain(route, on: connection)
                return try await write(event, content: content, route: route, on: connection)
            case .failed?:
                return .ignored(.keyFailed)
            case nil:
                return .ignored(.keyAbsent)
            }
        case .write:
            break
        }
        // Whatever was kept for the key goes first: per key, events reach the sink in offset order.
        if route.hasKeptEvents { try await drain(route, on: connection) }
        return try await write(event, content: content, route: route, on: connection)
    }

    /// Replays the key's kept events through `write` (`filters` and the stale-event guard applied again).
    @discardableResult
    func drain(_ route: LiveEventStore.Route, on connection: PostgresConnection) async throws -> Int {
        let store = LiveEventStore(connection: connection, sealer: sealer)
        let count = try await store.drainKept(subscriptionId: route.subscriptionId, key: route.key) { kept in
            let content: LiveEventContent
            do throws(LiveEventError) {
                content = try kept.content()
            } catch {
                _ = try await self.deadLetter(kept, route: route, reason: error.description, on: connection)
                return
            }
            guard route.subscriber.filter.matches(content.document) else { return }
            if case .written = try await self.write(kept, content: content, route: route, on: connection) {
                self.metrics.replayed.increment()
            }
        }
        if count > 0 {
            logger.info("kept events replayed", metadata: ["subscription": "\(route.subscriptionId)", "key": "\(route.key)", "count": "\(count)"])
        }
        return count
    }

    /// Writes one event of a ready key: its name, the stale-event guard, the sink (with its retries). A failure of
    /// the sink, the name or the subscription's sink configuration dead-letters it.
    func write(_ event: LiveEvent, content: LiveEventContent, route: LiveEventStore.Route, on connection: PostgresConnection) async throws -> Outcome {
        let configuration: SinkConfiguration
        switch route.sink {
        case .success(let sink): configuration = sink
        case .failure(let problem): return try await deadLetter(event, route: route, reason: problem.description, on: connection)
        }
        let name: String
        do throws(UnsafeFolderError) {
            name = try LiveEventNaming.objectName(of: event, content: content, naming: ObjectNaming(folderProperty: configuration.folderName))
        } catch {
            return try await deadLetter(event, route: route, reason: error.description, on: connection)
        }
        if let version = content.version, version.isCurrent {
            let ended = try await dossierPool.withConnection { dossiers in
                try await LiveEventStore.holdsEnded(version, entiteId: event.key, dossiers: dossiers)
            }
            if !StaleEventGuard.shouldWrite(version, databaseHoldsEnded: ended) {
                metrics.skippedAsStale.increment()
                logger.debug("stale event skipped: the database holds this version as ended", metadata: ["object": "\(name)", "offset": "\(event.offset)"])
                return .skippedAsStale
            }
        }
        let lease: SinkLease
        do throws(SinkError) {
            lease = try await sinks.acquire(for: route, configuration: configuration)
        } catch {
            if error.isCancellation { throw CancellationError() }
            return try await deadLetter(event, route: route, reason: error.description, on: connection)
        }
        do throws(SinkError) {
            // Every put durable before `deliver` returns: the loop commits the offset then.
            try await lease.sink.put(name, body: event.value ?? [])
            try await lease.sink.flush()
            await sinks.release(lease)
        } catch {
            await sinks.release(lease)
            if error.isCancellation { throw CancellationError() }
            return try await deadLetter(event, route: route, reason: error.description, on: connection)
        }
        metrics.written.increment()
        return .written(objectName: name)
    }

    func deadLetter(_ event: LiveEvent, route: LiveEventStore.Route, reason: String, on connection: PostgresConnection) async throws -> Outcome {
        // Whatever a sink or a server said, no configured secret leaves the process.
        let scrubbed = SecretScrubber(route.secrets).scrub(reason)
        try await DeadLetterStore(connection: connection).record(event, subscriptionId: route.subscriptionId, reason: scrubbed)
        metrics.deadLettered.increment()
        logger.warning("message dead-lettered", metadata: [
            "subscription": "\(route.subscriptionId)", "key": "\(event.key)", "topic": "\(event.topic)",
            "partition": "\(event.partition)", "offset": "\(event.offset)", "reason": "\(scrubbed)",
        ])
        return .deadLettered(reason: scrubbed)
    }
}
