import CaeInitPostgres
import CaeInitStore
import Logging
import Synchronization

/// The claims a worker runs, as an asynchronous sequence. It owns the claim connection, the `LISTEN` connection
/// that wakes it as soon as a filter becomes `new`, the poll tick and the reconnections. It ends when stopped
/// (graceful shutdown), when its task is cancelled, or, with `exitWhenIdle` (`run-once`), once no filter is left to
/// claim and no run it handed out is still going (a run may schedule a retry that must be claimed too).
public struct ClaimSource: AsyncSequence, Sendable {
    public typealias Element = Claim

    let storeConninfo: String
    let sealer: SinkSealer
    let initializer: String
    let lease: Duration
    let pollInterval: Duration
    let exitWhenIdle: Bool
    let logger: Logger
    let state = State()

    public init(storeConninfo: String, sealer: SinkSealer, options: WorkerOptions, logger: Logger) {
        self.storeConninfo = storeConninfo
        self.sealer = sealer
        self.initializer = options.name
        self.lease = options.lease
        self.pollInterval = options.pollInterval
        self.exitWhenIdle = options.exitWhenIdle
        self.logger = logger
    }

    /// No more claims: the sequence ends at its next step.
    public func stop() { state.update { $0.stopped = true; $0.woken = true } }

    /// A run handed out by this source has recorded its outcome: with `exitWhenIdle`, the end may have come.
    public func runFinished() { state.update { $0.inFlight -= 1; $0.woken = true } }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }

    final class State: Sendable {
        struct Value {
            var inFlight = 0
            var stopped = false
            /// Set by `stop` and `runFinished` to cut the current wait short.
            var woken = false
        }

        private let value = Mutex(Value())

        func update<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
        var current: Value { value.withLock { $0 } }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: ClaimSource
        private var claimer: SubscriptionStore?
        private var listener: PostgresConnection?
        private var claimFailures = 0
        private var listenerFailures = 0

        init(source: ClaimSource) { self.source = source }

        public mutating func next() async -> Claim? {
            while !Task.isCancelled && !source.state.current.stopped {
                do throws(PostgresError) {
                    let store = try await connectedClaimer()
                    // Listen before looking: a filter that becomes `new` between the look and the wait then wakes
                    // the wait instead of waiting out the poll interval.
                    if listener == nil { await connectListener() }
                    if let claim = try await store.claim(initializer: source.initializer, lease: source.lease) {
                        storeReachable()
                        source.state.update { $0.inFlight += 1 }
                        return claim
                    }
                    storeReachable()
                    if source.exitWhenIdle, source.state.current.inFlight == 0, try await store.timeUntilNextClaimable() == nil {
                        return nil
                    }
                } catch {
                    // One line when the store becomes unreachable, then one every 30 failed looks: never a flood.
                    if claimFailures % 30 == 0 {
                        source.logger.error("cannot claim filters, will retry", metadata: ["error": "\(error)", "failures": "\(claimFailures + 1)"])
                    }
                    claimFailures += 1
                    claimer = nil
                }
                await waitForWork()
            }
            return nil
        }

        private mutating func storeReachable() {
            if claimFailures > 0 { source.logger.info("subscription store reachable again") }
            claimFailures = 0
        }

        private mutating func connectedClaimer() async throws(PostgresError) -> SubscriptionStore {
            if let claimer { return claimer }
            let connection = try await PostgresConnection.connect(source.storeConninfo, applicationName: "cae-init \(source.initializer)")
            let store = SubscriptionStore(connection: connection, sealer: source.sealer)
            claimer = store
            return store
        }

        /// Waits up to the poll interval for a reason to look again: a `NOTIFY cae_key_filter_new`, a finished run,
        /// a stop. Waits in short slices so that each of those is seen within a quarter of a second.
        private mutating func waitForWork() async {
            let deadline = ContinuousClock.now + source.pollInterval
            while !Task.isCancelled {
                if source.state.update({ state -> Bool in defer { state.woken = false }; return state.woken }) { return }
                let remaining = deadline - .now
                if remaining <= .zero { return }
                let slice = Swift.min(remaining, .milliseconds(250))
                if let listener {
                    do throws(PostgresError) {
                        if !(try await listener.notifications(waitingUpTo: slice)).isEmpty { return }
                    } catch {
                        if error.code != .cancelled {
                            source.logger.warning("notification listener lost its connection, reconnecting", metadata: ["error": "\(error)"])
                        }
                        self.listener = nil
                    }
                } else {
                    try? await Task.sleep(for: slice)
                }
            }
        }

        private mutating func connectListener() async {
            do throws(PostgresError) {
                let connection = try await PostgresConnection.connect(source.storeConninfo, applicationName: "cae-init \(source.initializer) listener")
                try await connection.execute("LISTEN cae_key_filter_new")
                listener = connection
                listenerFailures = 0
            } catch {
                if listenerFailures % 30 == 0 && error.code != .cancelled {
                    source.logger.warning("cannot listen for new filters, polling every \(source.pollInterval)", metadata: ["error": "\(error)"])
                }
                listenerFailures += 1
            }
        }
    }
}
