import Metrics

extension LiveEventDelivery {
    /// The delivery's counters (swift-metrics; `/metrics` when the process serves it).
    struct Counters: Sendable {
        /// Events written to a sink (live or replayed).
        let written = Counter(label: "cae_sink_events_written_total")
        /// Events kept for the hand-off (key `new` or `pending`).
        let kept = Counter(label: "cae_sink_events_kept_total")
        /// Kept events written once their key was `ready`.
        let replayed = Counter(label: "cae_sink_events_replayed_total")
        let deadLettered = Counter(label: "cae_sink_events_dead_lettered_total")
        /// Object-version events skipped by the stale-event guard.
        let skippedAsStale = Counter(label: "cae_sink_events_skipped_stale_total")
        /// Messages concerning no subscription (no key, or a key no subscription of the topic lists).
        let unrouted = Counter(label: "cae_sink_events_unrouted_total")
    }
}
