extension SinkError {
    /// The service asks to slow down (rather than failing): S3's `503 SlowDown`, Azure's `503 ServerBusy` and
    /// `500 OperationTimedOut` (Azure's answers when an account or partition is over its scalability targets), and
    /// any `429 Too Many Requests`. Such an answer lowers the sink's requests in flight (`AdaptiveLimit`); the write
    /// itself is retried like any retryable failure.
    public static func isThrottling(httpStatus: Int, serviceCode: String?) -> Bool {
        switch (httpStatus, serviceCode) {
        case (429, _), (503, "SlowDown"), (503, "ServerBusy"), (500, "OperationTimedOut"): return true
        default: return false
        }
    }

    /// See `isThrottling(httpStatus:serviceCode:)`.
    public var isThrottling: Bool {
        httpStatus.map { Self.isThrottling(httpStatus: $0, serviceCode: serviceCode) } ?? false
    }
}
