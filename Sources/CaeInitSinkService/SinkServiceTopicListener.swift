import CaeInitPostgres
import Logging
import ServiceLifecycle

/// Wakes the Sink Service's loop when a subscription changes (`cae_subscription_changed`, sent by the store's
/// triggers on a subscription's creation, deletion, topics or suspension): `changes` yields, and the loop reads
/// the active topics again before its next poll. Each time `LISTEN` takes effect (the first time too: the loop may
/// have read the topics before it did) it yields once, since a change may have been missed meanwhile (the loop's
/// `topicRefreshInterval` is the last resort). Runs until graceful shutdown.
public struct SinkServiceTopicListener: Service {
    public let changes: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    let storeConninfo: String
    let logger: Logger

    public init(storeConninfo: String, logger: Logger) {
        (changes, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.storeConninfo = storeConninfo
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.listen()
        }
        continuation.finish()
    }

    private func listen() async {
        var failing = false
        while !Task.isCancelled {
            do {
                let listener = try await PostgresConnection.connect(storeConninfo, applicationName: "cae-init sink-service topics")
                do {
                    try await listener.execute("LISTEN cae_subscription_changed")
                    if failing { logger.info("listening to subscription changes again") }
                    failing = false
                    continuation.yield()
                    while !Task.isCancelled {
                        if try await !listener.notifications(waitingUpTo: .seconds(1)).isEmpty { continuation.yield() }
                    }
                } catch {
                    await listener.close()
                    throw error
                }
                await listener.close()
            } catch {
                if Task.isCancelled { return }
                if !failing {
                    logger.warning("cannot listen to subscription changes: topics are read every refresh interval meanwhile (logged once until it works)", metadata: ["error": "\(error)"])
                }
                failing = true
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
