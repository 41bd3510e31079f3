import CaeInitCore

/// Where an initialisation's files go. Implementations are safe to call concurrently: the worker keeps a bounded
/// number of `put` calls in flight per initialisation.
public protocol Sink: Sendable {
    var configuration: SinkConfiguration { get }

    /// Checks the destination before anything is written: the S3 bucket exists, the Azure container is created
    /// when missing, the local directory is made (and what a killed worker left in it is cleared). Called once,
    /// before any `put`.
    func prepare() async throws(SinkError)

    /// Writes one object whole or not at all (`Content-Type: application/json`), retrying per the sink's
    /// `retryPolicy`.
    func put(_ objectName: String, body: [UInt8]) async throws(SinkError)

    /// How the initialiser should hand its documents over: objects per `putBatch`, and such calls in flight.
    var batching: SinkBatching { get }

    /// Writes several objects, each whole or not at all, as `put` does; when it throws, some may have been written.
    func putBatch(_ objects: [SinkObject]) async throws(SinkError)

    /// Makes every object `put` so far durable: an object whose `put` returned may otherwise still be in memory only
    /// (the Local Directory sink writes without a per-file `fsync`). The initialiser calls it before the manifest and
    /// after it, so that `ready` means every file is on disk and the manifest is durable last. A no-op for S3 and
    /// Azure, where a successful PUT is durable.
    func flush() async throws(SinkError)

    /// Releases what the sink holds (the Local Directory sink's threads and temporary folder). Shared resources
    /// (the HTTP client) belong to the caller.
    func shutdown() async throws(SinkError)
}

extension Sink {
    /// One object per call, as many calls in flight as the initialiser's `maxUploadsInFlight`: a request each.
    public var batching: SinkBatching { SinkBatching() }

    public func putBatch(_ objects: [SinkObject]) async throws(SinkError) {
        for object in objects { try await put(object.name, body: object.body) }
    }

    public func flush() async throws(SinkError) {}

    public func shutdown() async throws(SinkError) {}
}

/// An object to write: its name in the sink and its bytes.
public struct SinkObject: Sendable {
    public let name: String
    public let body: [UInt8]

    public init(name: String, body: [UInt8]) {
        self.name = name
        self.body = body
    }
}

/// How a sink takes its objects from an initialisation.
public struct SinkBatching: Sendable, Equatable {
    /// Objects handed over in one `putBatch` call.
    public var objectsPerBatch: Int
    /// `putBatch` calls in flight at once; nil: the initialiser's `maxUploadsInFlight`.
    public var batchesInFlight: Int?

    public init(objectsPerBatch: Int = 1, batchesInFlight: Int? = nil) {
        self.objectsPerBatch = objectsPerBatch
        self.batchesInFlight = batchesInFlight
    }
}
