import CaeInitCore
import CaeInitSinks
import CaeInitStore
import Logging

extension LiveEventDelivery {
    /// A cached sink lent to one write; given back with `SinkCache.release`.
    struct SinkLease: Sendable {
        let sink: any Sink
        let generation: Int
    }

    /// One prepared sink per subscription, made on first use and made again when the subscription's stored sink
    /// changes (its fingerprint) or the subscription changed (`drop`). A sink whose `prepare` fails is not kept:
    /// the next message tries again. Sinks are lent (`acquire`/`release`): one that is replaced or dropped while
    /// writes are still using it (partitions are delivered concurrently) is shut down when the last of them gives
    /// it back, never under a write.
    actor SinkCache {
        let factory: SinkFactory
        let logger: Logger
        private var current: [String: (fingerprint: String, sink: any Sink, generation: Int)] = [:]
        /// Writes using each sink, by generation.
        private var users: [Int: Int] = [:]
        /// Sinks replaced or dropped while in use, shut down by their last `release`.
        private var retired: [Int: any Sink] = [:]
        private var nextGeneration = 0

        init(factory: SinkFactory, logger: Logger) {
            self.factory = factory
            self.logger = logger
        }

        func acquire(for route: LiveEventStore.Route, configuration: SinkConfiguration) async throws(SinkError) -> SinkLease {
            let id = route.subscriptionId
            if let entry = current[id], entry.fingerprint == route.sinkFingerprint { return lend(entry.sink, entry.generation) }
            if let old = current.removeValue(forKey: id) {
                logger.info("subscription's sink changed: making it again", metadata: ["subscription": "\(id)"])
                await retire(old.sink, old.generation)
            }
            let sink = try factory.makeSink(for: configuration)
            do {
                try await sink.prepare()
            } catch {
                try? await sink.shutdown()
                throw error
            }
            // The actor is reentrant across `prepare`: another delivery may have made it meanwhile.
            if let entry = current[id] {
                if entry.fingerprint == route.sinkFingerprint {
                    try? await sink.shutdown()
                    return lend(entry.sink, entry.generation)
                }
                current[id] = nil
                await retire(entry.sink, entry.generation)
            }
            nextGeneration += 1
            current[id] = (route.sinkFingerprint, sink, nextGeneration)
            return lend(sink, nextGeneration)
        }

        func release(_ lease: SinkLease) async {
            let remaining = (users[lease.generation] ?? 1) - 1
            if remaining > 0 {
                users[lease.generation] = remaining
                return
            }
            users[lease.generation] = nil
            if let sink = retired.removeValue(forKey: lease.generation) { try? await sink.shutdown() }
        }

        /// Forgets the sinks of one subscription, or all; each is shut down once no write uses it.
        func drop(subscriptionId: String?) async {
            let dropped: [(sink: any Sink, generation: Int)]
            if let subscriptionId {
                dropped = current.removeValue(forKey: subscriptionId).map { [($0.sink, $0.generation)] } ?? []
            } else {
                dropped = current.values.map { ($0.sink, $0.generation) }
                current.removeAll()
            }
            for (sink, generation) in dropped { await retire(sink, generation) }
        }

        private func lend(_ sink: any Sink, _ generation: Int) -> SinkLease {
            users[generation, default: 0] += 1
            return SinkLease(sink: sink, generation: generation)
        }

        private func retire(_ sink: any Sink, _ generation: Int) async {
            if (users[generation] ?? 0) > 0 {
                retired[generation] = sink
            } else {
                try? await sink.shutdown()
            }
        }
    }
}
