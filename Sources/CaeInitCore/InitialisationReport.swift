/// How many files an initialisation wrote, per kind and role.
public struct InitialisationCounts: Sendable, Equatable {
    public private(set) var values: [ObjectKind: [VersionRole: Int]] = [:]

    public init() {}

    public mutating func add(_ kind: ObjectKind, _ role: VersionRole, _ n: Int = 1) {
        values[kind, default: [:]][role, default: 0] += n
    }

    public func count(_ kind: ObjectKind, _ role: VersionRole) -> Int { values[kind]?[role] ?? 0 }

    public var total: Int { values.values.reduce(0) { $0 + $1.values.reduce(0, +) } }

    /// `{journal: {snapshot, history}, compte: {…}, ecriture: {…}}`
    public var json: JSONValue {
        var object = JSONObject()
        for kind in ObjectKind.allCases {
            object.appendUnchecked(kind.rawValue, [
                "snapshot": .number(String(count(kind, .snapshot))),
                "history": .number(String(count(kind, .history))),
            ])
        }
        return .object(object)
    }

    /// `journal 3 (+2 history), compte 10, ecriture 120 (+7 history)`
    public var summary: String {
        ObjectKind.allCases.map { kind in
            let history = count(kind, .history)
            return "\(kind.rawValue) \(count(kind, .snapshot))" + (history > 0 ? " (+\(history) history)" : "")
        }.joined(separator: ", ")
    }
}

/// The manifest written last (SPEC §4): its presence means the initialisation is complete.
public struct InitialisationManifest: Sendable {
    public var subscriptionId: String
    public var entiteId: String
    public var initializer: String
    public var startedAt: Int64
    public var finishedAt: Int64
    public var initWithHistory: Bool
    public var periods: [SituationPeriod]
    public var counts: InitialisationCounts

    public init(subscriptionId: String, entiteId: String, initializer: String, startedAt: Int64, finishedAt: Int64, initWithHistory: Bool, periods: [SituationPeriod], counts: InitialisationCounts) {
        self.subscriptionId = subscriptionId
        self.entiteId = entiteId
        self.initializer = initializer
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.initWithHistory = initWithHistory
        self.periods = periods
        self.counts = counts
    }

    public var json: JSONValue {
        [
            "subscriptionId": .string(subscriptionId),
            "entite_id": .string(entiteId),
            "initializer": .string(initializer),
            "startedAt": .string(Timestamp.iso8601(milliseconds: startedAt)),
            "finishedAt": .string(Timestamp.iso8601(milliseconds: finishedAt)),
            "initWithHistory": .bool(initWithHistory),
            "periods": .array(periods.map { ["id": .string($0.id), "referenceDate": .number(String($0.referenceDate))] }),
            "counts": counts.json,
            "objects": .number(String(counts.total)),
        ]
    }
}

/// ISO-8601 UTC timestamps with milliseconds (`2026-11-22T10:00:00.000Z`), computed without a formatter.
public enum Timestamp {
    public static func iso8601(milliseconds: Int64) -> String {
        let millis = ((milliseconds % 1000) + 1000) % 1000
        let seconds = (milliseconds - millis) / 1000
        let secondsOfDay = ((seconds % 86400) + 86400) % 86400
        let (year, month, day) = CivilDate.fromDays((seconds - secondsOfDay) / 86400)
        func pad(_ value: some BinaryInteger, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(millis, 3))Z"
    }
}
