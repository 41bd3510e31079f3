import CaeInitKafka

/// What the Sink Service's consuming loop hands each message to: routing, writing, keeping for the hand-off and
/// dead-lettering live behind it. The loop commits a message's offset only after `deliver` returned.
public protocol LiveEventHandler: Sendable {
    /// Delivers one message to every subscription it concerns: written to the sink, kept for a key still being
    /// initialised, or dead-lettered with a reason. Returns once each of them holds the message durably.
    /// Throws only when that cannot be known (the store is unreachable): the message is then not committed and is
    /// delivered again.
    func deliver(_ message: KafkaMessage) async throws

    /// The topics of the active (not suspended) subscriptions: what the consumer subscribes to.
    func activeTopics() async throws -> Set<String>
}
