import Foundation
import NIOHTTP1
import Testing

@testable import CertyoEmulator

/// RFC 8785 hashing: each case is sent over a real socket and the answered `recordHash` must be the SHA-256 of the
/// canonical text written out by hand here.
@Suite("Hashing (RFC 8785 over the socket)", .timeLimit(.minutes(3)))
struct HashingTests {
    /// (payload as sent, canonical text the hash must be computed from)
    static let cases: [(String, String)] = [
        // Member order by UTF-16 code units (RFC 8785 §3.2.3 example): U+1F600 (D83D DE00) sorts before U+FB33.
        (
            #"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{F6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20AC}\":\"Euro Sign\",\"\u{1F600}\":\"Emoji: Grinning Face\",\"\u{FB33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        ),
        // Numbers as ECMAScript writes them.
        (#"{"a":1e21,"b":1e-7,"c":-0,"d":1.0,"e":100,"f":1e20,"g":0.000001,"h":4.50,"i":2e-3}"#,
         #"{"a":1e+21,"b":1e-7,"c":0,"d":1,"e":100,"f":100000000000000000000,"g":0.000001,"h":4.5,"i":0.002}"#),
        (#"{"big":9007199254740993,"third":333333333.33333329,"tiny":5e-324,"max":1.7976931348623157e308}"#,
         #"{"big":9007199254740992,"max":1.7976931348623157e+308,"third":333333333.3333333,"tiny":5e-324}"#),
        (#"{"n":-1.5E+3,"m":1E30,"z":0.0,"w":-0.000001234}"#, #"{"m":1e+30,"n":-1500,"w":-0.000001234,"z":0}"#),
        // Strings: minimal escaping, raw UTF-8, "\/" unescaped, U+2028 raw, other controls as lower-case \u00xx.
        (#"{"s":"Caf\u00e9 Cr\u00e8me \u2615","t":"\/\"\\\b\f\n\r\t\u0001\u001F\u007f\u2028"}"#,
         "{\"s\":\"Café Crème ☕\",\"t\":\"/\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\u{7F}\u{2028}\"}"),
        // Nested objects are sorted at every level; array order is kept.
        (#"{"b":{"z":1,"a":[{"y":2,"x":1},3,"c"]},"a":null,"c":[true,false]}"#,
         #"{"a":null,"b":{"a":[{"x":1,"y":2},3,"c"],"z":1},"c":[true,false]}"#),
        // Names that Swift's String calls equal (canonical equivalence) are distinct members, in UTF-16 order.
        ("{\"\u{E9}\":1,\"e\u{301}\":2}", "{\"e\u{301}\":2,\"\u{E9}\":1}"),
        // Whitespace in the body is not part of the hash.
        ("{ \"k\" : [ 1 , 2 ] ,\n\t\"j\" : { } }", #"{"j":{},"k":[1,2]}"#),
    ]

    @Test("recordHash is SHA-256 of the canonical payload", arguments: cases.indices)
    func canonicalHash(_ index: Int) async throws {
        let (payload, canonical) = Self.cases[index]
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let response = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "h\(index)", payload: payload))
            #expect(response.status == 202, "\(response.text)")
            #expect(response.json["recordHash"] as? String == expectedHash(ofCanonical: canonical))
        }
    }

    @Test("payloads that are not I-JSON are refused as not_canonicalizable")
    func notCanonicalizable() async throws {
        let payloads: [(String, [UInt8])] = [
            ("duplicate names", Array(#"{"a":1,"a":2}"#.utf8)),
            ("nested duplicate names", Array(#"{"x":{"a":1,"b":2,"a":3}}"#.utf8)),
            ("lone high surrogate", Array(#"{"a":"\ud800"}"#.utf8)),
            ("lone low surrogate", Array(#"{"a":"x\udc00y"}"#.utf8)),
            ("high surrogate then non-surrogate", Array(#"{"a":"\ud83d\u0041"}"#.utf8)),
            ("overflowing number", Array(#"{"a":1e400}"#.utf8)),
            ("overflowing negative number", Array(#"{"a":[-2e308]}"#.utf8)),
            ("invalid UTF-8", Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)),
            ("overlong UTF-8", Array(#"{"a":""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8)),
            ("UTF-8 surrogate", Array(#"{"a":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8)),
        ]
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            for (name, payload) in payloads {
                let body = Array(#"{"tenantId":"acme-corp","database":"d","collection":"c","recordId":"1","recordPayload":"#.utf8)
                    + payload + Array("}".utf8)
                let response = try await send(emulator, .POST, "/api/v1/records", body: body)
                #expect(response.status == 400, "\(name): \(response.text)")
                #expect(response.errorCode == "invalid_record", "\(name)")
                let details = response.errorDetails
                #expect(details.count == 1, "\(name)")
                #expect(details.first?["field"] as? String == "recordPayload", "\(name)")
                #expect(details.first?["reason"] as? String == "not_canonicalizable", "\(name)")
                #expect(details.first?["index"] == nil, "\(name)")
            }
            #expect(await emulator.counters().recordsStored == 0)
        }
    }

    @Test("record ids that differ only in Unicode normalisation are different records")
    func exactRecordIds() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            for id in ["caf\u{E9}", "cafe\u{301}"] {
                let response = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: id, payload: #"{"id":1}"#, key: "k-\(id)"))
                #expect(response.status == 202)
                #expect(response.json["idempotencyReplayed"] as? Bool == false)
            }
            let query = try await send(
                emulator, .GET,
                "/api/v1/records?tenantId=acme-corp&database=productdb&collection=public.products&recordId=cafe%CC%81"
            )
            #expect(query.status == 200)
            let records = query.json["records"] as? [[String: Any]] ?? []
            #expect(records.count == 1)
            #expect((records.first?["recordId"] as? String).map { Array($0.unicodeScalars) } == Array("cafe\u{301}".unicodeScalars))
        }
    }
}

/// The number formatter and parser on their own, against values built from their bits.
@Suite("ECMAScript number formatting")
struct NumberFormattingTests {
    @Test(arguments: [
        (0x0000_0000_0000_0000 as UInt64, "0"),
        (0x8000_0000_0000_0000, "0"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
        (0xFFEF_FFFF_FFFF_FFFF, "-1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xC340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44B5_2D02_C7E1_4AF5, "9.999999999999997e+22"),
        (0x44B5_2D02_C7E1_4AF6, "1e+23"),
        (0x3EB0_C6F7_A0B5_ED8D, "0.000001"),
        (0x3EB0_C6F7_A0B5_ED8C, "9.999999999999997e-7"),
        (0x41B3_DE43_5555_5555, "333333333.3333333"),
        (0x3FF0_0000_0000_0000, "1"),
        (0x4059_0000_0000_0000, "100"),
    ])
    func bits(_ bits: UInt64, _ expected: String) {
        #expect(JCS.ecmaScriptString(Double(bitPattern: bits)) == expected)
    }

    @Test func decimalBoundaries() {
        #expect(JCS.ecmaScriptString(1e21) == "1e+21")
        #expect(JCS.ecmaScriptString(1e-7) == "1e-7")
        #expect(JCS.ecmaScriptString(1.5e-7) == "1.5e-7")
        #expect(JCS.ecmaScriptString(123e18) == "123000000000000000000")
        #expect(JCS.ecmaScriptString(0.1) == "0.1")
        #expect(JCS.ecmaScriptString(-123.456) == "-123.456")
        #expect(JCS.ecmaScriptString(1e16) == "10000000000000000")
        #expect(JCS.ecmaScriptString(12345.678e-15) == "1.2345678e-11")
    }

    @Test func parserRoundsCorrectly() throws {
        // 2^53 + 1 is halfway between two doubles and rounds to even.
        guard case .number(let value) = try JSONParser.parse(Array("9007199254740993".utf8)) else {
            Issue.record("not a number")
            return
        }
        #expect(value == 9_007_199_254_740_992)
        guard case .number(let longDigits) = try JSONParser.parse(Array("0.1000000000000000055511151231257827".utf8))
        else {
            Issue.record("not a number")
            return
        }
        #expect(longDigits == 0.1)
    }

    @Test func syntaxErrorsThrow() {
        for text in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\u{1}\"", "tru", "{} x", "\"\\x\"", "[1 2]"] {
            #expect(throws: JSONSyntaxError.self, "\(text)") { try JSONParser.parse(Array(text.utf8)) }
        }
    }
}
