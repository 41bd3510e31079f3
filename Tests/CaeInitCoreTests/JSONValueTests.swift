import CaeInitCore
import Testing

@Suite struct JSONValueTests {
    @Test func numbersKeepEveryDigit() throws {
        let value = try JSONValue.parse(#"{"a":9999999999999999.99,"b":0.00,"c":-1.10e+3,"d":12345678901234567890123}"#)
        #expect(value.serialized() == #"{"a":9999999999999999.99,"b":0.00,"c":-1.10e+3,"d":12345678901234567890123}"#)
    }

    @Test func textRoundTripsWithEscapes() throws {
        let text = #"{"s":"quote \" backslash \\ tab \t nl \n ctrl \u0001 é 日本 🧾 \ud83e\uddfe slash \/"}"#
        let value = try JSONValue.parse(text)
        #expect(value.objectValue?["s"]?.stringValue == "quote \" backslash \\ tab \t nl \n ctrl \u{01} é 日本 🧾 🧾 slash /")
        #expect(value.serialized() == #"{"s":"quote \" backslash \\ tab \t nl \n ctrl \u0001 é 日本 🧾 🧾 slash /"}"#)
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test func keyOrderIsKept() throws {
        let value = try JSONValue.parse(#"{"z":1,"a":2,"m":[true,false,null]}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value.serialized() == #"{"z":1,"a":2,"m":[true,false,null]}"#)
    }

    @Test(arguments: [
        ("{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, "expected ',' or '}'"),
        ("{\"a\": 01}", 1, 7, "leading zero"),
        ("{\"a\": 1, \"a\": 2}", 1, 10, "duplicate key"),
        ("[1, 2,]", 1, 7, "expected a value"),
        ("{\"a\": \"x\ny\"}", 1, 9, "control character"),
        ("{\"a\": tru}", 1, 7, "invalid literal"),
        ("[1] x", 1, 5, "after the JSON value"),
        ("\"\\ud800\"", 1, 8, "surrogate"),
    ])
    func syntaxErrorsNameLineAndColumn(text: String, line: Int, column: Int, reason: String) {
        #expect {
            try JSONValue.parse(text)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.line == line && error.column == column && error.reason.contains(reason)
        }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes: [0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func decimalEqualityIgnoresNotation() {
        #expect(DecimalText("1.50") == DecimalText("1.5"))
        #expect(DecimalText("15e-1") == DecimalText("1.5"))
        #expect(DecimalText("-0.00") == DecimalText("0"))
        #expect(DecimalText("100") == DecimalText("1E2"))
        #expect(DecimalText("1") != DecimalText("1.01"))
        #expect(DecimalText("-1") != DecimalText("1"))
        #expect(DecimalText("9999999999999999.99") != DecimalText("10000000000000000"))
    }

    @Test func jsonEqualityForFilters() throws {
        let a = try JSONValue.parse(#"{"x":[1.0,"a"],"y":null}"#)
        let b = try JSONValue.parse(#"{"y":null,"x":[1,"a"]}"#)
        #expect(a.isJSONEqual(to: b))
        #expect(!a.isJSONEqual(to: try JSONValue.parse(#"{"x":[1,"A"],"y":null}"#)))
        #expect(!JSONValue.string("1").isJSONEqual(to: .number("1")))
    }

    @Test func base64RoundTrip() {
        for bytes in [[], [0], [0, 1], [0, 1, 2], Array(0...255)] as [[UInt8]] {
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("Man".utf8)) == "TWFu")
        #expect(Base64.decode("not base64!") == nil)
        #expect(Base64.decode("TWF") == nil)
    }

    @Test func timestampsAreISO8601WithMilliseconds() {
        #expect(Timestamp.iso8601(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(milliseconds: 1734684480123) == "2024-12-20T08:48:00.123Z")
        #expect(Timestamp.iso8601(milliseconds: 951782400000) == "2000-02-29T00:00:00.000Z")
    }
}
