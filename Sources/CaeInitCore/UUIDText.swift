/// Canonical UUID text (lowercase, 8-4-4-4-12), the form PostgreSQL returns.
public enum UUIDText {
    /// The canonical lowercase form of `text`, or nil when it is not a UUID.
    public static func canonical(_ text: String) -> String? {
        if isCanonical(text) { return text }
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(36)
        for (i, byte) in utf8.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                output.append(byte)
                continue
            }
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): output.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): output.append(byte + 32)
            default: return nil
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether `text` is already in the canonical form (what PostgreSQL sends): then it is kept as it is.
    static func isCanonical(_ text: String) -> Bool {
        var count = 0
        for byte in text.utf8 {
            switch (count, byte) {
            case (8, UInt8(ascii: "-")), (13, UInt8(ascii: "-")), (18, UInt8(ascii: "-")), (23, UInt8(ascii: "-")): break
            case (8, _), (13, _), (18, _), (23, _): return false
            case (_, UInt8(ascii: "0")...UInt8(ascii: "9")), (_, UInt8(ascii: "a")...UInt8(ascii: "f")): break
            default: return false
            }
            count += 1
            if count > 36 { return false }
        }
        return count == 36
    }
}
