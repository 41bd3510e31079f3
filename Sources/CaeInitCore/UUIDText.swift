/// Canonical UUID text (lowercase, 8-4-4-4-12), the form PostgreSQL returns.
public enum UUIDText {
    /// The canonical lowercase form of `text`, or nil when it is not a UUID.
    public static func canonical(_ text: String) -> String? {
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
}
