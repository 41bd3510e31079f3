import AsyncHTTPClient
import CaeInitCore
import Logging

/// Makes the sink a subscription names. The HTTP client is shared by every sink of the process (one connection
/// pool) and owned by the caller.
public struct SinkFactory: Sendable {
    public let httpClient: HTTPClient
    public let logger: Logger
    /// See `LocalDirectorySink.auditLogPath`.
    public let localAuditLogPath: String?
    /// The threads each Local Directory sink writes with (`LocalDirectorySink.defaultWriterThreads`).
    public let localWriterThreads: Int

    public init(
        httpClient: HTTPClient, logger: Logger, localAuditLogPath: String? = nil,
        localWriterThreads: Int = LocalDirectorySink.defaultWriterThreads
    ) {
        self.httpClient = httpClient
        self.logger = logger
        self.localAuditLogPath = localAuditLogPath
        self.localWriterThreads = localWriterThreads
    }

    /// - Parameter inFlight: the S3 and Azure sinks' requests in flight, adapted to the service's throttling; the
    ///   Local Directory sink has its own thread pool instead.
    public func makeSink(for configuration: SinkConfiguration, inFlight: AdaptiveConcurrencyGate? = nil) throws(SinkError) -> any Sink {
        switch configuration.destination {
        case .localDirectory(let local):
            return LocalDirectorySink(configuration: configuration, local: local, writerThreads: localWriterThreads, auditLogPath: localAuditLogPath)
        case .s3(let s3):
            return try S3Sink(configuration: configuration, s3: s3, httpClient: httpClient, logger: logger, inFlight: inFlight)
        case .azureBlob(let azure):
            return try AzureBlobSink(configuration: configuration, azure: azure, httpClient: httpClient, logger: logger, inFlight: inFlight)
        }
    }
}
