extension JSONValue {
    /// Compact JSON text: no insignificant white space, keys in order, number literals as they are, non-ASCII
    /// text as UTF-8, and `"`, `\` and control characters escaped.
    public func serialized() -> String {
        String(decoding: serializedBytes(), as: UTF8.self)
    }

    public func serializedBytes() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(into: &output)
        return output
    }

    public func write(into output: inout [UInt8]) {
        switch self {
        case .null: output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(true): output.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        case .bool(false): output.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        case .number(let literal): output.append(contentsOf: literal.utf8)
        case .string(let string): JSONValue.writeString(string, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                element.write(into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            object.write(into: &output)
        }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        // Native strings: the bytes between escapes go in whole.
        let written: Void? = string.utf8.withContiguousStorageIfAvailable { bytes in
            var start = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                output.append(contentsOf: bytes[start..<index])
                writeEscaped(byte, into: &output)
                start = index + 1
            }
            output.append(contentsOf: bytes[start...])
        }
        if written == nil {
            for byte in string.utf8 { writeEscaped(byte, into: &output) }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// One byte of a string's UTF-8, escaped when JSON requires it.
    private static func writeEscaped(_ byte: UInt8, into output: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        case 0x00..<0x20:
            output.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
        default: output.append(byte)
        }
    }
}

extension JSONObject {
    public func write(into output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        for (i, pair) in pairs.enumerated() {
            if i > 0 { output.append(UInt8(ascii: ",")) }
            JSONValue.writeString(pair.key, into: &output)
            output.append(UInt8(ascii: ":"))
            pair.value.write(into: &output)
        }
        output.append(UInt8(ascii: "}"))
    }

    public func serialized() -> String { JSONValue.object(self).serialized() }
}

extension JSONValue {
    /// Indented JSON for people (two spaces), same escaping and number literals as `serialized()`.
    public func prettySerialized() -> String {
        var output: [UInt8] = []
        writePretty(into: &output, indent: 0)
        return String(decoding: output, as: UTF8.self)
    }

    private func writePretty(into output: inout [UInt8], indent: Int) {
        func newline(_ level: Int) {
            output.append(0x0A)
            output.append(contentsOf: repeatElement(0x20, count: level * 2))
        }
        switch self {
        case .array(let elements) where !elements.isEmpty:
            output.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                element.writePretty(into: &output, indent: indent + 1)
            }
            newline(indent)
            output.append(UInt8(ascii: "]"))
        case .object(let object) where object.count > 0:
            output.append(UInt8(ascii: "{"))
            for (i, pair) in object.pairs.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                JSONValue.writeString(pair.key, into: &output)
                output.append(contentsOf: [UInt8(ascii: ":"), 0x20])
                pair.value.writePretty(into: &output, indent: indent + 1)
            }
            newline(indent)
            output.append(UInt8(ascii: "}"))
        default:
            write(into: &output)
        }
    }
}
