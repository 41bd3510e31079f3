/// How a sink retries a failed write (SPEC §7): up to `maxRetries` retries, waiting
/// `backoffSeconds × backoffMultiplier^(n-1)` before retry `n`.
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first failed write; default 2.
    public var maxRetries: Int
    /// Wait before the first retry, in seconds; default 1.
    public var backoffSeconds: Double
    /// Factor applied to the wait at each further retry; default 1.
    public var backoffMultiplier: Double

    public static let `default` = RetryPolicy(maxRetries: 2, backoffSeconds: 1, backoffMultiplier: 1)

    public init(maxRetries: Int, backoffSeconds: Double, backoffMultiplier: Double) {
        self.maxRetries = maxRetries
        self.backoffSeconds = backoffSeconds
        self.backoffMultiplier = backoffMultiplier
    }

    /// The wait before retry `n` (1-based).
    public func delay(beforeRetry n: Int) -> Duration {
        var seconds = backoffSeconds
        if n > 1 {
            for _ in 1..<n { seconds *= backoffMultiplier }
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    static func parse(_ value: JSONValue?, path: String) throws(FieldError) -> RetryPolicy {
        guard let value, !value.isNull else { return .default }
        let reader = try FieldReader(value, path: path)
        try reader.refuseUnknown(allowed: ["maxRetries", "backoffSeconds", "backoffMultiplier"])
        var policy = RetryPolicy.default
        if let raw = reader.object["maxRetries"], !raw.isNull {
            let retries = try FieldReader.int64(raw, path: reader.fieldPath("maxRetries"))
            guard (0...20).contains(retries) else { throw FieldError(reader.fieldPath("maxRetries"), "must be between 0 and 20") }
            policy.maxRetries = Int(retries)
        }
        if let seconds = try reader.optionalDouble("backoffSeconds") {
            guard seconds >= 0, seconds <= 3600 else { throw FieldError(reader.fieldPath("backoffSeconds"), "must be between 0 and 3600") }
            policy.backoffSeconds = seconds
        }
        if let multiplier = try reader.optionalDouble("backoffMultiplier") {
            guard multiplier >= 1, multiplier <= 10 else { throw FieldError(reader.fieldPath("backoffMultiplier"), "must be between 1 and 10") }
            policy.backoffMultiplier = multiplier
        }
        return policy
    }
}
