/// How one written file differs from what a golden case expects.
public struct FileDifference: Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// Expected, not written.
        case missing
        /// Written, not expected.
        case extra
        /// Both exist and differ: the fields that differ, or why the bytes do.
        case content([FieldDifference])
    }

    /// The object name, relative to the case's `expected/`.
    public let file: String
    public let problem: Problem

    public init(file: String, problem: Problem) {
        self.file = file
        self.problem = problem
    }

    /// `missing  <file>`, `extra    <file>`, or one `<file>: <field>: expected …, got …` line per field.
    public var description: String { lines.joined(separator: "\n") }

    public var lines: [String] {
        switch problem {
        case .missing: return ["missing  \(file) (expected, not written)"]
        case .extra: return ["extra    \(file) (written, not expected)"]
        case .content(let fields): return fields.map { "differs  \(file): \($0)" }
        }
    }
}

/// One field of a document that differs: its path (`lignes[0].debit`) and both values as JSON text, numbers
/// exactly as written.
public struct FieldDifference: Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let expected: String
    public let actual: String

    public init(path: String, expected: String, actual: String) {
        self.path = path
        self.expected = expected
        self.actual = actual
    }

    public var description: String { "\(path.isEmpty ? "(document)" : path): expected \(expected), got \(actual)" }
}

/// Compares written files with a golden case's expected files. Files must be equal byte for byte (that is the
/// contract); a difference is explained as JSON values: numbers compared by their exact literal text (`1.10` is
/// not `1.1`), then key order, then any remaining byte difference (spacing).
public enum FileComparison {
    public static func differences(expected: [String: [UInt8]], actual: [String: [UInt8]]) -> [FileDifference] {
        var differences: [FileDifference] = []
        for name in Set(expected.keys).union(actual.keys).sorted() {
            switch (expected[name], actual[name]) {
            case (.some, nil): differences.append(FileDifference(file: name, problem: .missing))
            case (nil, .some): differences.append(FileDifference(file: name, problem: .extra))
            case (.some(let want), .some(let got)) where want != got:
                differences.append(FileDifference(file: name, problem: .content(explain(expected: want, actual: got))))
            default: break
            }
        }
        return differences
    }

    /// Why two different byte strings differ, as fields.
    static func explain(expected: [UInt8], actual: [UInt8]) -> [FieldDifference] {
        let want: JSONValue
        let got: JSONValue
        do { want = try JSONValue.parse(bytes: expected) } catch {
            return [FieldDifference(path: "", expected: "valid JSON", actual: "the expected file is not: \(error)")]
        }
        do { got = try JSONValue.parse(bytes: actual) } catch {
            return [FieldDifference(path: "", expected: "valid JSON", actual: "the written file is not: \(error)")]
        }
        var fields: [FieldDifference] = []
        compare(want, got, path: "", into: &fields)
        if fields.isEmpty {
            let offset = zip(expected, actual).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset ?? min(expected.count, actual.count)
            fields.append(FieldDifference(
                path: "", expected: "\(expected.count) bytes",
                actual: "\(actual.count) bytes, the same JSON values written differently (spacing or escapes) from byte \(offset)"
            ))
        }
        return fields
    }

    static func compare(_ want: JSONValue, _ got: JSONValue, path: String, into fields: inout [FieldDifference]) {
        switch (want, got) {
        case (.object(let a), .object(let b)):
            let before = fields.count
            for (key, value) in a {
                let child = path.isEmpty ? key : "\(path).\(key)"
                if let other = b[key] {
                    compare(value, other, path: child, into: &fields)
                } else {
                    fields.append(FieldDifference(path: child, expected: show(value), actual: "(no such field)"))
                }
            }
            for (key, value) in b where a[key] == nil {
                fields.append(FieldDifference(path: path.isEmpty ? key : "\(path).\(key)", expected: "(no such field)", actual: show(value)))
            }
            if fields.count == before && a.keys != b.keys {
                fields.append(FieldDifference(
                    path: path.isEmpty ? "(key order)" : "\(path) (key order)",
                    expected: a.keys.joined(separator: ", "), actual: b.keys.joined(separator: ", ")
                ))
            }
        case (.array(let a), .array(let b)):
            for index in 0..<min(a.count, b.count) {
                compare(a[index], b[index], path: "\(path)[\(index)]", into: &fields)
            }
            if a.count != b.count {
                fields.append(FieldDifference(path: "\(path) (length)", expected: "\(a.count) elements", actual: "\(b.count) elements"))
            }
        default:
            // Numbers by their literal text: the contract keeps every digit as written.
            if want != got {
                fields.append(FieldDifference(path: path, expected: show(want), actual: show(got)))
            }
        }
    }

    /// A value as JSON text, long ones cut.
    static func show(_ value: JSONValue) -> String {
        let text = value.serialized()
        return text.count <= 200 ? text : String(text.prefix(200)) + "…"
    }
}
