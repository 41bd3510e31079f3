/// What an initialisation does with one object, period by period: the answer to "why is this file (not) there?".
/// The files it names come from the `DocumentPipeline` itself; the reasons restate SPEC §4 per period.
public struct HistoryExplanation: Sendable {
    /// Why a period selects what it selects.
    public enum Reason: Sendable, Equatable {
        /// The version is valid at `t` and not current: written as history.
        case validAt
        /// Valid at `t`, but an earlier period (this id) already selected it: one file.
        case alreadyWritten(periodId: String)
        /// The version valid at `t` is the current one: the snapshot writes it, not the history.
        case currentVersion
        /// Valid at `t` and selected, but the subscription's `filters` drop its document.
        case filteredOut
        /// No version valid at `t`: the object's first version starts after it.
        case createdAfter(firstValidFrom: Int64)
        /// No version valid at `t`: the object's last version ended at or before it.
        case deletedBefore(lastValidTo: Int64)
        /// No version valid at `t`: it falls between two versions.
        case gap(previousValidTo: Int64, nextValidFrom: Int64)
    }

    public struct PeriodLine: Sendable, Equatable {
        public let period: SituationPeriod
        /// Index in `versions` of the version valid at the reference date, if any.
        public let selected: Int?
        public let reason: Reason
    }

    public let kind: ObjectKind
    public let objectId: String
    public let withHistory: Bool
    /// The object's versions, sorted by `validFrom`.
    public let versions: [ObjectVersion]
    /// The files the pipeline writes for this object.
    public let files: [DocumentFile]
    /// One line per period, by reference date.
    public let periods: [PeriodLine]

    /// - Throws: what the pipeline throws for this object (broken history, a bad `folderName` value).
    public init(fixture: DossierFixture, kind: ObjectKind, objectId: String, pipeline: DocumentPipeline) throws {
        self.kind = kind
        self.objectId = objectId
        self.withHistory = pipeline.withHistory
        let chain = fixture.chains(of: kind, includeHistory: true).first { $0.first?.id == objectId } ?? []
        versions = chain
        files = try pipeline.files(for: pipeline.withHistory ? chain : chain.filter(\.isCurrent))
        let writtenFrom = Set(files.map { $0.name.split(separator: "/").last.map(String.init) ?? "" })
        func isWritten(_ version: ObjectVersion) -> Bool {
            writtenFrom.contains(String(version.relativeName.split(separator: "/").last!))
        }

        var firstPeriodOf: [Int: String] = [:]
        var lines: [PeriodLine] = []
        for period in fixture.periods.sorted(by: { ($0.referenceDate, $0.id) < ($1.referenceDate, $1.id) }) {
            let t = period.referenceDate
            if let index = chain.firstIndex(where: { $0.isValid(at: t) }) {
                let version = chain[index]
                let reason: Reason
                if version.isCurrent {
                    reason = .currentVersion
                } else if let earlier = firstPeriodOf[index] {
                    reason = .alreadyWritten(periodId: earlier)
                } else {
                    firstPeriodOf[index] = period.id
                    reason = pipeline.withHistory && !isWritten(version) ? .filteredOut : .validAt
                }
                lines.append(PeriodLine(period: period, selected: index, reason: reason))
            } else if let first = chain.first, t < first.validFrom {
                lines.append(PeriodLine(period: period, selected: nil, reason: .createdAfter(firstValidFrom: first.validFrom)))
            } else if let next = chain.firstIndex(where: { $0.validFrom > t }), next > 0 {
                lines.append(PeriodLine(period: period, selected: nil, reason: .gap(previousValidTo: chain[next - 1].validTo, nextValidFrom: chain[next].validFrom)))
            } else {
                lines.append(PeriodLine(period: period, selected: nil, reason: .deletedBefore(lastValidTo: chain.last?.validTo ?? 0)))
            }
        }
        periods = lines
    }

    /// Every object of the fixture with this id (normally one kind).
    public static func explain(fixture: DossierFixture, objectId: String, pipeline: DocumentPipeline) throws -> [HistoryExplanation] {
        try ObjectKind.allCases
            .filter { kind in (fixture.versions[kind] ?? []).contains { $0.id == objectId } }
            .map { try HistoryExplanation(fixture: fixture, kind: $0, objectId: objectId, pipeline: pipeline) }
    }

    // MARK: Text

    /// Plain text: the versions, one line per period with its reference date (ISO and ms), the version it
    /// selects or none, and why; then the files written.
    public var text: String {
        var out: [String] = []
        out.append("\(kind.rawValue) \(objectId): \(versions.count) version(s), \(withHistory ? "with history" : "without history (initWithHistory false: periods write nothing)")")
        for (index, version) in versions.enumerated() {
            let end = version.isCurrent ? "current" : Self.instant(version.validTo)
            out.append("  v\(index + 1)  [\(Self.instant(version.validFrom)), \(end))")
        }
        if periods.isEmpty { out.append("  no situation period") }
        for line in periods {
            let date = Self.instant(line.period.referenceDate)
            let label = line.period.libelle.map { " \"\($0)\"" } ?? ""
            let selection = line.selected.map { "v\($0 + 1)" } ?? "none"
            let reason = describe(line)
            out.append("  period \(line.period.id)\(label) t=\(date): \(selection): \(reason)\(withHistory ? "" : " (history off)")")
        }
        if files.isEmpty {
            out.append("  writes nothing")
        }
        for file in files {
            out.append("  writes \(file.name) (\(file.role.rawValue))")
        }
        return out.joined(separator: "\n")
    }

    func describe(_ line: PeriodLine) -> String {
        switch line.reason {
        case .validAt: return withHistory ? "valid at t, written as history" : "valid at t"
        case .alreadyWritten(let periodId):
            return withHistory ? "valid at t, already written for another period (\(periodId))" : "valid at t"
        case .currentVersion:
            let snapshotWritten = line.selected.map { index in files.contains { $0.name.hasSuffix("/" + versions[index].relativeName) } } ?? false
            return "current version, not written as history (\(snapshotWritten ? "the snapshot writes it" : "the filters drop its snapshot document too"))"
        case .filteredOut: return "valid at t, but the subscription's filters drop its document"
        case .createdAfter(let first): return "created after t (first version from \(Self.instant(first)))"
        case .deletedBefore(let last): return "deleted before t (last version ended at \(Self.instant(last)), exclusive)"
        case .gap(let previous, let next): return "in a gap: no version valid at t (one ended at \(Self.instant(previous)), the next starts at \(Self.instant(next)))"
        }
    }

    /// `2024-10-01T00:00:00.000Z (1727740800000)`
    static func instant(_ milliseconds: Int64) -> String {
        "\(Timestamp.iso8601(milliseconds: milliseconds)) (\(milliseconds))"
    }
}
