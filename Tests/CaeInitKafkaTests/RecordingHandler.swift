import CaeInitKafka
import CaeInitSinkService
import CaeInitTestSupport
import Synchronization

/// The test double of our own `LiveEventHandler` (not of a server): records every delivery attempt, refuses chosen
/// messages a given number of times, can be slow, and serves a topic set the test changes.
final class RecordingHandler: LiveEventHandler {
    struct Attempt: Sendable {
        var message: KafkaMessage
        var delivered: Bool
    }

    private struct State {
        var topics: Set<String>
        var attempts: [Attempt] = []
        /// "topic/partition/offset" → refusals left.
        var refusals: [String: Int] = [:]
    }

    private let state: Mutex<State>
    /// Each delivery takes this long (a cancelled one is not delivered).
    let delay: Duration?

    init(topics: Set<String>, delay: Duration? = nil) {
        state = Mutex(State(topics: topics))
        self.delay = delay
    }

    func setTopics(_ topics: Set<String>) { state.withLock { $0.topics = topics } }

    func refuse(topic: String, partition: Int32, offset: Int64, times: Int) {
        state.withLock { $0.refusals["\(topic)/\(partition)/\(offset)"] = times }
    }

    var attempts: [Attempt] { state.withLock { $0.attempts } }
    var delivered: [KafkaMessage] { attempts.filter(\.delivered).map(\.message) }

    func deliveredOffsets(_ partition: Int32) -> [Int64] { delivered.filter { $0.partition == partition }.map(\.offset) }

    func deliver(_ message: KafkaMessage) async throws {
        if let delay { try await Task.sleep(for: delay) }
        let refused = state.withLock { state -> Bool in
            let key = "\(message.topic)/\(message.partition)/\(message.offset)"
            let left = state.refusals[key] ?? 0
            if left > 0 { state.refusals[key] = left - 1 }
            state.attempts.append(Attempt(message: message, delivered: left == 0))
            return left > 0
        }
        if refused { throw TestFailure("refused by the test") }
    }

    func activeTopics() async throws -> Set<String> { state.withLock { $0.topics } }
}
