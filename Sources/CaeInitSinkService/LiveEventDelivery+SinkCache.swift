import CaeInitCore
import CaeInitSinks
import CaeInitStore
import Logging

extension LiveEventDelivery {
    /// One prepared sink per subscription, made on first use and made again when the subscription's stored sink
    /// changes (its fingerprint). A sink whose `prepare` fails is not kept: the next message tries again.
    actor SinkCache {
        let factory: SinkFactory
        let logger: Logger
        private var entries: [String: (fingerprint: String, sink: any Sink)] = [:]

        init(factory: SinkFactory, logger: Logger) {
            self.factory = factory
            self.logger = logger
        }

        func sink(for route: LiveEventStore.Route, configuration: SinkConfiguration) async throws(SinkError) -> any Sink {
            let id = route.subscriptionId
            if let entry = entries[id], entry.fingerprint == route.sinkFingerprint { return entry.sink }
            if let old = entries.removeValue(forKey: id) {
                logger.info("subscription's sink changed: making it again", metadata: ["subscription": "\(id)"])
                try? await old.sink.shutdown()
            }
            let sink = try factory.makeSink(for: configuration)
            do {
                try await sink.prepare()
            } catch {
                try? await sink.shutdown()
                throw error
            }
            // Another delivery may have made it meanwhile (the actor is reentrant across `prepare`).
            if let entry = entries[id], entry.fingerprint == route.sinkFingerprint {
                try? await sink.shutdown()
                return entry.sink
            }
            entries[id] = (route.sinkFingerprint, sink)
            return sink
        }

        func drop(subscriptionId: String?) async {
            let dropped: [any Sink]
            if let subscriptionId {
                dropped = entries.removeValue(forKey: subscriptionId).map { [$0.sink] } ?? []
            } else {
                dropped = entries.values.map(\.sink)
                entries.removeAll()
            }
            for sink in dropped { try? await sink.shutdown() }
        }
    }
}
