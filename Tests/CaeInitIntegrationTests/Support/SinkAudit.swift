import CaeInitTestSupport
import Foundation

/// The Local Directory sink's own record of every file written (`--sink-audit-log`): who wrote what when, read
/// back to check claims from the sink's side rather than the workers' word.
struct SinkAudit {
    struct Write {
        let nanoseconds: UInt64
        let pid: Int32
        let object: String

        /// The dossier the object belongs to (`<entite>/…` or `_manifests/<subscription>/<entite>.json`).
        var entite: String {
            if object.hasPrefix("_manifests/") {
                return String(object.split(separator: "/").last!.dropLast(".json".count))
            }
            return String(object.split(separator: "/").first!)
        }
    }

    let writes: [Write]

    init(path: String) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        writes = text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            // `(flush)` lines mark the sink's flushes (issue 9), not writes.
            guard parts.count == 3, parts[2] != "(flush)", let ns = UInt64(parts[0]), let pid = Int32(parts[1]) else { return nil }
            return Write(nanoseconds: ns, pid: pid, object: String(parts[2]))
        }
    }

    /// Dossiers written by two processes at overlapping times: for each dossier, each process's writes span an
    /// interval, and no two processes' intervals may intersect.
    func overlappingDossiers() -> [String] {
        var spans: [String: [Int32: (UInt64, UInt64)]] = [:]
        for write in writes {
            let current = spans[write.entite]?[write.pid]
            spans[write.entite, default: [:]][write.pid] = (min(current?.0 ?? .max, write.nanoseconds), max(current?.1 ?? 0, write.nanoseconds))
        }
        var overlapping: [String] = []
        for (entite, byProcess) in spans {
            let intervals = byProcess.values.sorted { $0.0 < $1.0 }
            for (a, b) in zip(intervals, intervals.dropFirst()) where b.0 <= a.1 {
                overlapping.append(entite)
                break
            }
        }
        return overlapping
    }

    func manifestWrites(entite: String) -> Int {
        writes.filter { $0.object.hasPrefix("_manifests/") && $0.entite == entite }.count
    }
}
