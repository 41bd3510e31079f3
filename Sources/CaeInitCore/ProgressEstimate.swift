/// How far a pending initialisation is, and when it should end at the rate seen so far. `written` and `total`
/// count object versions: `total` is every version the snapshot holds for the dossier (current rows, plus history
/// rows with history), `written` those already dealt with (written to the sink, or left out by the history rules or
/// the subscription's filters), so `written` reaches `total` exactly when the run has nothing left to write.
public struct ProgressEstimate: Sendable, Equatable {
    public let written: Int
    public let total: Int
    /// Milliseconds from the start of the initialisation to the moment `written` was taken.
    public let elapsedMilliseconds: Int64

    public init(written: Int, total: Int, elapsedMilliseconds: Int64) {
        self.written = max(0, written)
        self.total = max(0, total)
        self.elapsedMilliseconds = elapsedMilliseconds
    }

    /// Share done, 0...1; nil when the dossier is empty.
    public var fraction: Double? {
        total > 0 ? min(1, Double(written) / Double(total)) : nil
    }

    /// Versions per second so far; nil before any time has passed (no rate can be told yet).
    public var rate: Double? {
        elapsedMilliseconds > 0 ? Double(written) * 1000 / Double(elapsedMilliseconds) : nil
    }

    /// Milliseconds left at the rate so far: 0 once everything is written, nil while nothing is (no rate to go by).
    public var remainingMilliseconds: Int64? {
        if written >= total { return 0 }
        guard written > 0, elapsedMilliseconds > 0 else { return nil }
        // left × elapsed / written, rounded up, in integers (exact) unless that overflows.
        let left = Int64(total - written)
        let (product, overflow) = left.multipliedReportingOverflow(by: elapsedMilliseconds)
        if !overflow { return (product + Int64(written) - 1) / Int64(written) }
        return Int64((Double(left) * Double(elapsedMilliseconds) / Double(written)).rounded(.up))
    }

    /// The instant (epoch milliseconds) the run should end, given when these figures were taken; nil while the rate
    /// is unknown.
    public func estimatedEnd(takenAt: Int64) -> Int64? {
        remainingMilliseconds.map { takenAt + $0 }
    }

    /// `1234/5000 (24%), 310/s, about 12 s left`: the rate and the time left only when they can be told.
    public var summary: String {
        var text = "\(written)/\(total)"
        if let fraction { text += " (\(Int((fraction * 100).rounded(.down)))%)" }
        if let rate { text += ", \(Int(rate.rounded()))/s" }
        if let remainingMilliseconds { text += ", about \(Self.duration(milliseconds: remainingMilliseconds)) left" }
        return text
    }

    /// `45 s`, `3 min 05 s`, `2 h 07 min`.
    public static func duration(milliseconds: Int64) -> String {
        let seconds = (max(0, milliseconds) + 999) / 1000
        if seconds < 60 { return "\(seconds) s" }
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if seconds < 3600 { return "\(seconds / 60) min \(two(seconds % 60)) s" }
        return "\(seconds / 3600) h \(two(seconds / 60 % 60)) min"
    }
}
