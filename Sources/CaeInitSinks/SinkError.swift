import CaeInitCore

/// A failed sink operation: which sink, which object, the HTTP status and the service's own error code. Its
/// `description` is what an operator reads in the filter's `message`, and holds no secret: the remote sinks build
/// every `SinkError` through `SignedStorageClient`, which scrubs the configured secrets from its text.
public struct SinkError: Error, Sendable, CustomStringConvertible {
    /// The sink type (`AWS S3`, `Azure Blob Storage`, `Local Directory`).
    public var sinkType: String
    /// The object or container the operation was about, when there is one.
    public var objectName: String?
    /// The HTTP status the service answered, for the remote sinks.
    public var httpStatus: Int?
    /// The service's own error code (`SignatureDoesNotMatch`, `NoSuchBucket`, `AuthenticationFailed`).
    public var serviceCode: String?
    /// What went wrong, in words.
    public var message: String
    /// Connection errors, time-outs, HTTP 408, 429 and 5xx are worth retrying; nothing else is. A cancelled
    /// operation is too (later, by another run): it says nothing against the sink.
    public var isRetryable: Bool
    /// The task was cancelled (the worker is shutting down): not the sink's fault, and not retried here.
    public var isCancellation: Bool

    public init(
        sinkType: String, objectName: String? = nil, httpStatus: Int? = nil, serviceCode: String? = nil, message: String,
        isRetryable: Bool, isCancellation: Bool = false
    ) {
        self.sinkType = sinkType
        self.objectName = objectName
        self.httpStatus = httpStatus
        self.serviceCode = serviceCode
        self.message = message
        self.isRetryable = isRetryable
        self.isCancellation = isCancellation
    }

    /// The operation was cancelled before it completed.
    public static func cancelled(sinkType: String, objectName: String? = nil) -> SinkError {
        SinkError(sinkType: sinkType, objectName: objectName, message: "cancelled", isRetryable: true, isCancellation: true)
    }

    /// SPEC §7: retry on 408, 429 and 5xx; never on another 4xx.
    public static func isRetryable(httpStatus: Int) -> Bool {
        httpStatus == 408 || httpStatus == 429 || (500...599).contains(httpStatus)
    }

    /// This error with every text field passed through `scrubber`.
    func scrubbed(by scrubber: SecretScrubber) -> SinkError {
        guard !scrubber.isEmpty else { return self }
        var copy = self
        copy.objectName = objectName.map(scrubber.scrub)
        copy.serviceCode = serviceCode.map(scrubber.scrub)
        copy.message = scrubber.scrub(message)
        return copy
    }

    public var description: String {
        var text = sinkType == SinkConfiguration.s3Type ? "S3" : sinkType
        if let httpStatus { text += " \(httpStatus)" }
        if let serviceCode { text += " \(serviceCode)" }
        text += ": \(message)"
        if let objectName { text += " (object \(objectName))" }
        return text
    }
}
