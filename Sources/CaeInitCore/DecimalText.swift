/// A JSON number literal reduced to sign, significant digits and exponent, so two literals of the same
/// decimal value compare equal (`1.50`, `1.5`, `15e-1`) without going through binary floating point.
public struct DecimalText: Equatable, Sendable {
    public let isNegative: Bool
    /// Significant digits without leading or trailing zeros; empty for zero.
    public let digits: String
    /// The value is `digits × 10^exponent`.
    public let exponent: Int

    public init(_ literal: String) {
        var negative = false
        var mantissa = Substring(literal)
        var exponent = 0
        if mantissa.first == "-" { negative = true; mantissa = mantissa.dropFirst() }
        if let e = mantissa.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            var exponentText = mantissa[mantissa.index(after: e)...]
            if exponentText.first == "+" { exponentText = exponentText.dropFirst() }
            // An exponent too large for Int saturates: `1e99999999999999999999` must not read as 1.
            exponent = Int(exponentText) ?? (exponentText.first == "-" ? Int.min / 4 : Int.max / 4)
            mantissa = mantissa[..<e]
        }
        var digits = ""
        if let dot = mantissa.firstIndex(of: ".") {
            let fraction = mantissa[mantissa.index(after: dot)...]
            digits = String(mantissa[..<dot]) + fraction
            exponent -= fraction.count
        } else {
            digits = String(mantissa)
        }
        let withoutLeading = digits.drop(while: { $0 == "0" })
        var trimmed = Substring(withoutLeading)
        while trimmed.last == "0" { trimmed = trimmed.dropLast(); exponent += 1 }
        if trimmed.isEmpty {
            self.isNegative = false
            self.digits = ""
            self.exponent = 0
        } else {
            self.isNegative = negative
            self.digits = String(trimmed)
            self.exponent = exponent
        }
    }
}
