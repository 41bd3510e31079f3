/// Why an object's versions cannot be restored: they overlap, run backwards, or continue after the current one.
public struct BrokenHistoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public let kind: ObjectKind
    public let objectId: String
    public let reason: String

    public var description: String { "broken history: \(kind.rawValue) \(objectId) \(reason)" }
}

/// Whether a version goes to the sink as part of the snapshot or as a history version.
public enum VersionRole: String, Sendable, Hashable {
    case snapshot
    case history
}

/// The history-restoration rules of SPEC §4, applied to one object's versions at a time so that a dossier is
/// streamed, never held: memory is bounded by the versions of a single object.
public struct HistoryRules: Sendable {
    /// The periods' reference instants, sorted and unique; empty when the subscription has no history.
    public let referenceDates: [Int64]

    public init(periods: [SituationPeriod]) {
        referenceDates = Array(Set(periods.map(\.referenceDate))).sorted()
    }

    public init(referenceDates: [Int64]) {
        self.referenceDates = Array(Set(referenceDates)).sorted()
    }

    /// Whether a non-current version `[validFrom, validTo)` is valid at some reference date. Each version is
    /// tested once, so a version selected by several periods is written once.
    public func selectsHistoryVersion(validFrom: Int64, validTo: Int64) -> Bool {
        // The first reference date >= validFrom decides: any later one is later still.
        var low = 0
        var high = referenceDates.count
        while low < high {
            let mid = (low + high) / 2
            if referenceDates[mid] < validFrom { low = mid + 1 } else { high = mid }
        }
        return low < referenceDates.count && referenceDates[low] < validTo
    }

    /// Checks that an object's versions form a chain: each non-current version ends after it starts, no two
    /// overlap, and a current version (at most one) is the last.
    /// - Parameter chain: every version of one object, sorted by `validFrom`.
    public static func validate(chain: [ObjectVersion]) throws(BrokenHistoryError) {
        guard let first = chain.first else { return }
        func broken(_ reason: String) -> BrokenHistoryError {
            BrokenHistoryError(kind: first.kind, objectId: first.id, reason: reason)
        }
        for version in chain where !version.isCurrent && version.validTo <= version.validFrom {
            throw broken("has a version with validFrom \(version.validFrom) not before its validTo \(version.validTo)")
        }
        for (earlier, later) in zip(chain, chain.dropFirst()) {
            if earlier.validFrom == later.validFrom {
                throw broken("has two versions with validFrom \(later.validFrom)")
            }
            if earlier.isCurrent {
                throw broken("has a version (validFrom \(later.validFrom)) after its current version (validFrom \(earlier.validFrom))")
            }
            if earlier.validTo > later.validFrom {
                throw broken("has overlapping versions: [\(earlier.validFrom), \(earlier.validTo)) and [\(later.validFrom), \(later.isCurrent ? "current" : String(later.validTo)))")
            }
        }
    }

    /// The versions of one object to write, with their role: its current version as snapshot, and with history
    /// the non-current versions valid at some reference date.
    public func select(chain: [ObjectVersion], withHistory: Bool) throws(BrokenHistoryError) -> [(ObjectVersion, VersionRole)] {
        if withHistory { try Self.validate(chain: chain) }
        var selected: [(ObjectVersion, VersionRole)] = []
        for version in chain {
            if version.isCurrent {
                selected.append((version, .snapshot))
            } else if withHistory && selectsHistoryVersion(validFrom: version.validFrom, validTo: version.validTo) {
                selected.append((version, .history))
            }
        }
        return selected
    }
}

/// Groups a stream of versions ordered by id into one chain per object, each chain sorted by `validFrom` (the
/// history read merges two index scans on id alone, so one object's versions may come in any order).
public struct VersionChainGrouper: Sendable {
    private var current: [ObjectVersion] = []

    public init() {}

    /// Adds a version; returns the previous object's chain when this version starts a new object.
    public mutating func add(_ version: ObjectVersion) -> [ObjectVersion]? {
        if let last = current.last, last.id != version.id {
            let finished = Self.sortedByValidFrom(current)
            current = [version]
            return finished
        }
        current.append(version)
        return nil
    }

    /// The last object's chain, once the stream has ended.
    public mutating func finish() -> [ObjectVersion]? {
        defer { current = [] }
        return current.isEmpty ? nil : Self.sortedByValidFrom(current)
    }

    /// Chains are a handful of versions, usually in order already: skip the sort when they are.
    static func sortedByValidFrom(_ chain: [ObjectVersion]) -> [ObjectVersion] {
        guard zip(chain, chain.dropFirst()).contains(where: { $0.validFrom > $1.validFrom }) else { return chain }
        return chain.sorted { $0.validFrom < $1.validFrom }
    }
}
