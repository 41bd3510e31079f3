import CaeInitCore

/// Turns a subscription's `sink` into what `cae_subscription.sink` holds, and back. Every write of that column
/// goes through `seal`, every read through `open`, so that secrets at rest are handled in one place.
public struct SinkSealer: Sendable {
    /// Stores secrets as they are (no key configured).
    public static let plaintext = SinkSealer()

    public init() {}

    /// The stored form of `sink`.
    public func seal(_ sink: JSONObject) throws -> JSONObject { sink }

    /// The sink as the sinks use it, from its stored form.
    public func open(_ stored: JSONObject) throws -> JSONObject { stored }
}
