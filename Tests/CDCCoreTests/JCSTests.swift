import Testing

@testable import CDCCore

@Suite struct JCSTests {
    static func number(_ value: Double) -> String {
        var out: [UInt8] = []
        JCS.appendNumber(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [
        (1e-7, "1e-7"), (100.0, "100"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (0.1, "0.1"),
        (-0.0, "0"), (1.2345678901234568e20, "123456789012345680000"), (Double.leastNonzeroMagnitude, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (0.000001, "0.000001"), (1.5e-7, "1.5e-7"),
        (4.5, "4.5"), (3.14159, "3.14159"), (-12.5, "-12.5"), (123456.789, "123456.789"),
        (1.2345678901234567e19, "12345678901234567000"), (9007199254740992, "9007199254740992"),
    ])
    func numbersAreWrittenAsECMAScriptDoes(_ value: Double, _ expected: String) {
        #expect(Self.number(value) == expected)
    }

    @Test func stringsAreEscapedMinimally() {
        var out: [UInt8] = []
        JCS.appendString("a\"b\\c\n\u{01}\u{1F}/\u{7F}\u{2028}é😀\t", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "\"a\\\"b\\\\c\\n\\u0001\\u001f/\u{7F}\u{2028}é😀\\t\"")
    }

    static func canonical(_ json: String) -> String? {
        guard let tape = try? JSONTape(parsing: Array(json.utf8)) else { return nil }
        var out: [UInt8] = []
        guard JCS.appendCanonical(tape, 0, to: &out) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func membersAreSortedByUTF16CodeUnits() {
        // RFC 8785 §3.2.3's sorting example.
        let input = #"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#
        let output = Self.canonical(input)
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\u{FB33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        #expect(output == expected)
    }

    @Test func valuesAreReEmittedCanonically() {
        #expect(Self.canonical(#"{"b": [1.0, 2e3, {"z": null, "a": true}], "a": "x\u0041", "c": -0}"#)
            == #"{"a":"xA","b":[1,2000,{"a":true,"z":null}],"c":0}"#)
        #expect(Self.canonical(#"[1E400]"#) == nil)  // not finite: not I-JSON
        #expect(Self.canonical(#"{"a":1,"a":2}"#) == nil)  // duplicate names
        #expect(Self.canonical(#"["\ud800"]"#) == nil)  // lone surrogate
    }

    @Test func tapeRejectsMalformedJSON() {
        for bad in ["{", "[1,]", "{\"a\" 1}", "01", "\"a\u{01}\"", "tru", "{} x", "1.", "-"] {
            #expect((try? JSONTape(parsing: Array(bad.utf8))) == nil, "\(bad)")
        }
    }
}
