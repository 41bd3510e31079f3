import CaeInitKafka
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The Sink Service's consuming loop (`cae-init sink-service`), shaped like swift-jobs' `JobQueueProcessor` and our
/// `WorkerService`: it subscribes to the handler's active topics (again whenever `topicChanges` fires or every
/// `topicRefreshInterval`), polls a batch, delivers each partition's messages in offset order (partitions at once,
/// bounded), and commits a partition's next offset only once `deliver` returned for every message before it. A
/// message whose delivery throws is not committed, nor is any later message of its partition: the partition is
/// rewound to it and paused for a backoff, then consumed again from it. On graceful shutdown it stops polling,
/// lets deliveries in flight finish within the grace period (those still running are then cancelled, not
/// committed), commits, and leaves the group.
public final class SinkService: Service, Sendable {
    let consumer: KafkaConsumer
    let handler: any LiveEventHandler
    let options: SinkServiceOptions
    let topicChanges: AsyncStream<Void>?
    let metrics: SinkServiceMetrics
    let logger: Logger
    private let flags = Mutex(Flags())

    private struct Flags {
        var stopping = false
        /// The topic set may have changed: read it before the next poll.
        var topicsChanged = true
    }

    /// A partition whose delivery failed: rewound to `offset`, paused until `resumeAt` (nil once resumed).
    private struct Backoff {
        var offset: Int64
        var failures: Int
        var resumeAt: ContinuousClock.Instant?
    }

    /// What became of one partition's messages of a batch.
    private struct PartitionOutcome: Sendable {
        var partition: KafkaTopicPartition
        /// The last offset `deliver` returned for (every earlier message of the batch returned too).
        var lastDelivered: Int64?
        /// The message whose delivery threw, and why.
        var failed: (offset: Int64, error: any Error)?
    }

    /// `topicChanges`: each element asks for the topic set to be read again (the store's change notifications).
    public init(
        consumer: KafkaConsumer, handler: any LiveEventHandler, options: SinkServiceOptions = .init(),
        topicChanges: AsyncStream<Void>? = nil, metricsFactory: any MetricsFactory = MetricsSystem.factory, logger: Logger
    ) {
        self.consumer = consumer
        self.handler = handler
        self.options = options
        self.topicChanges = topicChanges
        self.metrics = SinkServiceMetrics(factory: metricsFactory)
        self.logger = logger
    }

    private enum ChildEnd: Sendable {
        case consumed(Result<Void, any Error>)
        case graceOver
        case other
    }

    public func run() async throws {
        logger.info("sink service started", metadata: [
            "brokers": "\(consumer.options.brokers.joined(separator: ","))", "group": "\(consumer.options.groupID)",
            "librdkafka": "\(Librdkafka.version)",
        ])
        let (shutdownStarted, startShutdown) = AsyncStream.makeStream(of: Void.self)
        let outcome: Result<Void, any Error> = await withTaskCancellationOrGracefulShutdownHandler {
            await withTaskGroup(of: ChildEnd.self) { group in
                group.addTask {
                    do {
                        try await self.consume()
                        return .consumed(.success(()))
                    } catch {
                        return .consumed(.failure(error))
                    }
                }
                group.addTask {
                    // Waits for graceful shutdown (or cancellation), then gives deliveries in flight the grace period.
                    await shutdownStarted.first { _ in true }
                    guard !Task.isCancelled else { return .other }
                    try? await Task.sleep(for: self.options.gracefulShutdownTimeout)
                    guard !Task.isCancelled else { return .other }
                    self.logger.warning("grace period over: cancelling deliveries in flight (not committed: delivered again after the restart)")
                    return .graceOver
                }
                if let topicChanges = self.topicChanges {
                    group.addTask {
                        for await _ in topicChanges { self.flags.withLock { $0.topicsChanged = true } }
                        return .other
                    }
                }
                var result: Result<Void, any Error> = .success(())
                while let end = await group.next() {
                    switch end {
                    case .consumed(let consumed):
                        result = consumed
                        group.cancelAll()
                        return result
                    case .graceOver:
                        // The loop, cancelled, commits what was delivered and returns.
                        group.cancelAll()
                    case .other:
                        continue
                    }
                }
                return result
            }
        } onCancelOrGracefulShutdown: {
            self.logger.info("shutting down: no more polling", metadata: ["grace": "\(self.options.gracefulShutdownTimeout)"])
            self.flags.withLock { $0.stopping = true }
            startShutdown.finish()
        }
        await consumer.close()
        metrics.recordLag([:])
        logger.info("sink service stopped")
        try outcome.get()
    }

    private var stopping: Bool { flags.withLock { $0.stopping } }

    /// Polls and delivers until shutdown; throws only what the consumer cannot recover from.
    private func consume() async throws {
        var subscribed: Set<String>?
        var nextTopicRead = ContinuousClock.now
        var topicReadFailing = false
        var nextLag = ContinuousClock.now + options.lagInterval
        var backoffs: [KafkaTopicPartition: Backoff] = [:]
        while !stopping {
            let changed = flags.withLock { flags -> Bool in
                defer { flags.topicsChanged = false }
                return flags.topicsChanged
            }
            if changed || ContinuousClock.now >= nextTopicRead {
                nextTopicRead = .now + options.topicRefreshInterval
                do {
                    let wanted = try await handler.activeTopics()
                    if wanted != subscribed {
                        try await consumer.subscribe(topics: wanted)
                        subscribed = wanted
                    }
                    if topicReadFailing {
                        topicReadFailing = false
                        logger.info("active topics read again")
                    }
                } catch {
                    if !topicReadFailing {
                        topicReadFailing = true
                        logger.warning("cannot read the active topics: the subscription stays as it is (logged once until it works)", metadata: ["error": "\(error)"])
                    }
                }
            }
            try await resumeDue(&backoffs)

            let batch = try await consumer.poll()
            if batch.isEmpty {
                if ContinuousClock.now >= nextLag {
                    metrics.recordLag(await consumer.lag())
                    nextLag = .now + options.lagInterval
                }
                continue
            }
            var order: [KafkaTopicPartition] = []
            var byPartition: [KafkaTopicPartition: [KafkaMessage]] = [:]
            for message in batch {
                let partition = message.topicPartition
                if byPartition[partition] == nil { order.append(partition) }
                byPartition[partition, default: []].append(message)
            }
            // A paused partition that comes back early (a rebalance gave it again, from its committed offset): its
            // backoff is over.
            for partition in order where backoffs[partition]?.resumeAt != nil { backoffs[partition]?.resumeAt = nil }

            let outcomes = await deliver(order.map { ($0, byPartition[$0]!) })
            var commits: [KafkaTopicPartition: Int64] = [:]
            for outcome in outcomes {
                if let last = outcome.lastDelivered { commits[outcome.partition] = last + 1 }
            }
            do {
                try await consumer.commit(commits)
            } catch {
                logger.warning("commit failed: those messages will be delivered again after a rebalance or a restart", metadata: ["error": "\(error)"])
            }
            for outcome in outcomes {
                if let failed = outcome.failed {
                    await backOff(outcome.partition, from: failed.offset, error: failed.error, &backoffs)
                } else if backoffs.removeValue(forKey: outcome.partition) != nil {
                    logger.info("delivering again", metadata: ["partition": "\(outcome.partition)"])
                }
            }
            metrics.recordLag(await consumer.lag())
            nextLag = .now + options.lagInterval
        }
    }

    /// Rewinds the partition to the message that failed and pauses it for the backoff; logs once per streak.
    private func backOff(_ partition: KafkaTopicPartition, from offset: Int64, error: any Error, _ backoffs: inout [KafkaTopicPartition: Backoff]) async {
        metrics.failures.increment()
        var backoff = backoffs[partition] ?? Backoff(offset: offset, failures: 0)
        backoff.offset = offset
        backoff.failures += 1
        let delay = options.retryDelay(afterFailures: backoff.failures)
        backoff.resumeAt = .now + delay
        backoffs[partition] = backoff
        let metadata: Logger.Metadata = ["partition": "\(partition)", "offset": "\(offset)", "error": "\(error)", "retryIn": "\(delay)"]
        if backoff.failures == 1 {
            logger.warning("delivery failed: not committed, delivered again from this message after a backoff (logged once until delivered)", metadata: metadata)
        } else {
            logger.debug("delivery failed again", metadata: metadata)
        }
        do {
            try await consumer.seek([partition: offset])
            try await consumer.pause([partition])
        } catch {
            // No longer assigned (a rebalance): its next owner starts from the committed offset, this message.
            logger.info("could not rewind the partition", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// Resumes the partitions whose backoff is over, from the message that failed.
    private func resumeDue(_ backoffs: inout [KafkaTopicPartition: Backoff]) async throws {
        let now = ContinuousClock.now
        let due = backoffs.filter { $0.value.resumeAt.map { $0 <= now } ?? false }
        guard !due.isEmpty else { return }
        for partition in due.keys { backoffs[partition]?.resumeAt = nil }
        do {
            try await consumer.resume(Set(due.keys))
            try await consumer.seek(due.mapValues(\.offset))
        } catch {
            logger.info("could not resume a partition", metadata: ["partitions": "\(due.keys.sorted().map(\.description))", "error": "\(error)"])
        }
    }

    /// Delivers each partition's messages in offset order, up to `partitionConcurrency` partitions at once.
    private func deliver(_ partitions: [(KafkaTopicPartition, [KafkaMessage])]) async -> [PartitionOutcome] {
        await withTaskGroup(of: PartitionOutcome.self) { group in
            var pending = partitions.makeIterator()
            for _ in 0..<options.partitionConcurrency {
                guard let (partition, messages) = pending.next() else { break }
                group.addTask { await self.deliver(messages, of: partition) }
            }
            var outcomes: [PartitionOutcome] = []
            while let outcome = await group.next() {
                outcomes.append(outcome)
                if let (partition, messages) = pending.next() {
                    group.addTask { await self.deliver(messages, of: partition) }
                }
            }
            return outcomes
        }
    }

    /// Stops at the first message whose delivery throws; a cancelled delivery (grace period over) is neither
    /// delivered nor failed: it is delivered again after the restart.
    private func deliver(_ messages: [KafkaMessage], of partition: KafkaTopicPartition) async -> PartitionOutcome {
        var outcome = PartitionOutcome(partition: partition)
        for message in messages {
            guard !Task.isCancelled else { return outcome }
            do {
                try await handler.deliver(message)
            } catch {
                if Task.isCancelled { return outcome }
                outcome.failed = (message.offset, error)
                return outcome
            }
            outcome.lastDelivered = message.offset
            metrics.delivered.increment()
        }
        return outcome
    }
}
