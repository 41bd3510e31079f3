import CaeInitPostgres
import CaeInitStore
import Logging
import ServiceLifecycle

/// Replays the kept events of keys that became `ready` even when no new message of the key arrives (a live message
/// of the key drains them first anyway). Wakes on `cae_key_filter_ready` (payload `<subscription id> <key>`),
/// sweeps every ready key with kept events at start, on `cae_subscription_changed` (a subscription leaving
/// suspension) and every `sweepInterval` (a notification missed while reconnecting). Drops a subscription's cached
/// sink when the subscription changes. Runs until graceful shutdown or cancellation.
public struct HandOffDrainer: Service {
    let delivery: LiveEventDelivery
    let storeConninfo: String
    let sealer: SinkSealer
    let sweepInterval: Duration
    let logger: Logger

    public init(delivery: LiveEventDelivery, storeConninfo: String, sealer: SinkSealer = .plaintext, sweepInterval: Duration = .seconds(30), logger: Logger) {
        self.delivery = delivery
        self.storeConninfo = storeConninfo
        self.sealer = sealer
        self.sweepInterval = sweepInterval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
    }

    private func loop() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let listener = try await PostgresConnection.connect(storeConninfo, applicationName: "cae-init sink-service hand-off")
                try await listener.execute("LISTEN cae_key_filter_ready; LISTEN cae_subscription_changed")
                failures = 0
                try await sweep()
                var nextSweep = ContinuousClock.now + sweepInterval
                while !Task.isCancelled {
                    let notifications = try await listener.notifications(waitingUpTo: .seconds(1))
                    var sweepNow = ContinuousClock.now >= nextSweep
                    for notification in notifications {
                        switch notification.channel {
                        case "cae_key_filter_ready":
                            let parts = notification.payload.split(separator: " ", maxSplits: 1).map(String.init)
                            guard parts.count == 2 else { continue }
                            try await drain(subscriptionId: parts[0], key: parts[1])
                        case "cae_subscription_changed":
                            await delivery.forgetSinks(subscriptionId: notification.payload)
                            sweepNow = true
                        default:
                            continue
                        }
                    }
                    if sweepNow {
                        try await sweep()
                        nextSweep = ContinuousClock.now + sweepInterval
                    }
                }
                await listener.close()
            } catch {
                if Task.isCancelled { return }
                if failures % 30 == 0 {
                    logger.warning("hand-off drain: store unreachable, trying again", metadata: ["error": "\(error)"])
                }
                failures += 1
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Every ready key with kept events, drained.
    func sweep() async throws {
        let sealer = self.sealer
        let keys = try await delivery.storePool.withConnection { connection in
            try await LiveEventStore(connection: connection, sealer: sealer).readyKeysWithKeptEvents().map { [$0.subscriptionId, $0.key] }
        }
        for pair in keys {
            try await drain(subscriptionId: pair[0], key: pair[1])
        }
    }

    private func drain(subscriptionId: String, key: String) async throws {
        let count = try await delivery.drainKept(subscriptionId: subscriptionId, key: key)
        if count > 0 {
            logger.info("hand-off: key ready, kept events replayed", metadata: ["subscription": "\(subscriptionId)", "key": "\(key)", "count": "\(count)"])
        }
    }
}
