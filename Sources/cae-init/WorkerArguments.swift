import ArgumentParser
import CaeInitWorker
import Foundation

/// The options `worker` and `run-once` share. Their defaults come from `WorkerOptions()`, the one place they are
/// documented; values are checked by `WorkerOptions.validate()` and refused naming the option.
struct WorkerArguments: ParsableArguments {
    static let defaults = WorkerOptions()

    @Option(help: "Initialisations run at once.") var concurrency: Int = defaults.concurrency
    @Option(name: .customLong("poll-interval-ms"), help: "Longest wait between looks for new filters (a NOTIFY wakes the worker sooner).") var pollIntervalMs: Double = defaults.pollInterval.seconds * 1000
    @Option(name: .customLong("lease-seconds"), help: "How long a claim lasts without a heartbeat (heartbeat every third).") var leaseSeconds: Double = defaults.lease.seconds
    @Option(name: .customLong("grace-seconds"), help: "On SIGTERM/SIGINT, time for running initialisations to finish (and their outcomes to be recorded) before they are released back to new.") var graceSeconds: Double = defaults.gracefulShutdownTimeout.seconds
    @Option(name: .customLong("max-attempts"), help: "Runs per filter before it is marked failed (transient failures, killed workers).") var maxAttempts: Int = defaults.maxAttempts
    @Option(name: .customLong("retry-delay-ms"), help: "Wait before retrying after a transient failure, doubled at each attempt (at most 5 minutes).") var retryDelayMs: Double = defaults.retryBaseDelay.seconds * 1000
    @Option(name: .customLong("max-uploads-in-flight"), help: "S3 and Azure requests in flight at once per initialisation (the ceiling of the adaptive limit).") var maxUploadsInFlight: Int = defaults.initialiser.maxUploadsInFlight
    @Option(name: .customLong("max-writes-per-second"), help: "Sink writes started per second at most, per initialisation (spares a throttling sink; default: no limit).") var maxWritesPerSecond: Double?
    @Option(name: .customLong("read-batch-size"), help: "Rows read from PostgreSQL per round trip.") var readBatchSize: Int = defaults.initialiser.readBatchSize
    @Option(name: .customLong("spool-dir"), help: "Read each dossier's rows into a spool file in this directory, end the snapshot transaction, then write from the spool (the file is removed at the end; spools of killed workers are removed when a worker starts).") var spoolDir: String?
    @Option(name: .customLong("local-writer-threads"), help: "Threads writing files at once for each Local Directory sink.") var localWriterThreads: Int = defaults.initialiser.localWriterThreads
    @Option(help: "Worker name written as each filter's initializer (default: host name and a random suffix).") var name: String?
    @Option(name: .customLong("sink-audit-log"), help: "Append one line per file a Local Directory sink writes (time, pid, object) to this file, and a (flush) line per flush.") var sinkAuditLog: String?

    /// The CLI flag of each `WorkerOptions` property, to name it in errors.
    static let flags = [
        "name": "--name", "concurrency": "--concurrency", "pollInterval": "--poll-interval-ms", "lease": "--lease-seconds",
        "gracefulShutdownTimeout": "--grace-seconds", "maxAttempts": "--max-attempts", "retryBaseDelay": "--retry-delay-ms",
        "maxUploadsInFlight": "--max-uploads-in-flight", "readBatchSize": "--read-batch-size", "maxWritesPerSecond": "--max-writes-per-second",
        "spoolDirectory": "--spool-dir", "localWriterThreads": "--local-writer-threads",
    ]

    func validate() throws {
        _ = try workerOptions(exitWhenIdle: false)
        if let sinkAuditLog {
            let fd = open(sinkAuditLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ValidationError("--sink-audit-log: cannot open \(sinkAuditLog) for appending: \(String(cString: strerror(errno)))") }
            close(fd)
        }
        if let spoolDir {
            // Made now (and checked writable), so that a bad directory stops the worker, not each dossier's run.
            do {
                try FileManager.default.createDirectory(atPath: spoolDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ValidationError("--spool-dir: cannot create \(spoolDir): \(error.localizedDescription)")
            }
            guard access(spoolDir, W_OK | X_OK) == 0 else {
                throw ValidationError("--spool-dir: cannot write in \(spoolDir): \(String(cString: strerror(errno)))")
            }
        }
    }

    func workerOptions(exitWhenIdle: Bool) throws -> WorkerOptions {
        var options = WorkerOptions(
            concurrency: concurrency,
            pollInterval: try Self.duration(milliseconds: pollIntervalMs, flag: "--poll-interval-ms"),
            lease: try Self.duration(milliseconds: leaseSeconds * 1000, flag: "--lease-seconds"),
            gracefulShutdownTimeout: try Self.duration(milliseconds: graceSeconds * 1000, flag: "--grace-seconds"),
            maxAttempts: maxAttempts,
            retryBaseDelay: try Self.duration(milliseconds: retryDelayMs, flag: "--retry-delay-ms"),
            exitWhenIdle: exitWhenIdle,
            initialiser: InitialiserOptions(
                maxUploadsInFlight: maxUploadsInFlight, readBatchSize: readBatchSize, maxWritesPerSecond: maxWritesPerSecond,
                spoolDirectory: spoolDir, localWriterThreads: localWriterThreads
            )
        )
        if let name { options.name = name }
        do {
            try options.validate()
        } catch {
            throw ValidationError("\(Self.flags[error.option] ?? error.option) \(error.reason)")
        }
        return options
    }

    /// Converts before `Duration` can trap on an overflow: 1e13 seconds is refused, not wrapped or crashed on.
    static func duration(milliseconds: Double, flag: String) throws -> Duration {
        guard milliseconds.isFinite, milliseconds >= 0, milliseconds <= 1e12 else {
            throw ValidationError("\(flag) must be a non-negative number within range")
        }
        return .milliseconds(Int64(milliseconds.rounded()))
    }
}
