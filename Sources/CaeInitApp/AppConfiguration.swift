import CaeInitStore
import CaeInitWorker

/// Everything the composition root needs, parsed and validated by the CLI (or set by a test).
public struct AppConfiguration: Sendable {
    /// The subscription store (libpq connection string or URI).
    public var storeConninfo: String
    /// The dossier data; the store's database unless set apart.
    public var dossierConninfo: String
    /// Runs the initialisation worker when set.
    public var worker: WorkerOptions?
    /// Serves Prometheus metrics at `http://host:port/metrics` when set.
    public var metrics: (host: String, port: Int)?
    /// The Local Directory sink appends one line per file written there (see `LocalDirectorySink.auditLogPath`).
    public var sinkAuditLogPath: String?
    /// How sink secrets are sealed at rest.
    public var sealer: SinkSealer

    public init(
        storeConninfo: String,
        dossierConninfo: String? = nil,
        worker: WorkerOptions? = nil,
        metrics: (host: String, port: Int)? = nil,
        sinkAuditLogPath: String? = nil,
        sealer: SinkSealer = .plaintext
    ) {
        self.storeConninfo = storeConninfo
        self.dossierConninfo = dossierConninfo ?? storeConninfo
        self.worker = worker
        self.metrics = metrics
        self.sinkAuditLogPath = sinkAuditLogPath
        self.sealer = sealer
    }
}
