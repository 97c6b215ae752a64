import Testing

@testable import CDCCore

/// The shortcuts of the canonical writer (plain decimals copied as text, object members sorted by raw bytes) must
/// give exactly the bytes of the general path.
@Suite struct JCSFastPathTests {
    static func viaNumberText(_ text: String) -> String? {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        let isInteger = !text.contains(".") && !text.lowercased().contains("e")
        guard JCS.appendNumberText(bytes[...], isInteger: isInteger, to: &out) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    static func viaDouble(_ text: String) -> String {
        var out: [UInt8] = []
        JCS.appendNumber(Double(text)!, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [
        "2.5", "-2.5", "0.5", "-0.5", "0.000001", "0.0000001", "0.00000123", "4.5", "19.99", "123456789.012345",
        "1234567890.123456", "0.123456789012345", "0.1234567890123456", "2.50", "2.0", "-0.0", "1.5e3", "1E-7",
        "100000000000000000000.5", "9007199254740993.5", "3.14159265358979", "0.30000000000000004", "1.7976931348623157",
    ])
    func plainDecimalsAreCopiedOnlyWhenThatIsWhatECMAScriptPrints(_ text: String) {
        #expect(Self.viaNumberText(text) == Self.viaDouble(text))
    }

    @Test func randomDecimalsAgreeWithTheDoublePath() {
        var generator = SplitMix(seed: 0x5EED)
        var copied = 0
        for _ in 0..<20_000 {
            let integerDigits = Int(generator.next() % 12)
            let fractionDigits = 1 + Int(generator.next() % 12)
            var text = generator.next() % 4 == 0 ? "-" : ""
            if integerDigits == 0 {
                text += "0"
            } else {
                text += String(1 + generator.next() % 9)
                for _ in 1..<integerDigits { text += String(generator.next() % 10) }
            }
            text += "."
            let leadingZeros = integerDigits == 0 ? Int(generator.next() % 8) : 0
            text += String(repeating: "0", count: leadingZeros)
            for _ in 0..<fractionDigits { text += String(generator.next() % 10) }
            if JCS.isCanonicalPlainDecimal(Array(text.utf8)[...]) { copied += 1 }
            #expect(Self.viaNumberText(text) == Self.viaDouble(text), "\(text)")
        }
        #expect(copied > 5_000)  // the shortcut is taken, and agrees
    }

    /// The reference: names decoded, sorted by UTF-16 code units, written with `JCS.appendString`.
    static func reference(_ members: [(String, Int)]) -> String? {
        let sorted = members.sorted { Array($0.0.utf16).lexicographicallyPrecedes(Array($1.0.utf16)) }
        for index in sorted.indices.dropFirst() where Array(sorted[index].0.utf16) == Array(sorted[index - 1].0.utf16) {
            return nil
        }
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (offset, member) in sorted.enumerated() {
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            JCS.appendString(member.0, to: &out)
            out.append(contentsOf: ":\(member.1)".utf8)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [
        ["b", "a", "c"], ["size", "eco", "codes", "color"], ["aa", "a", "ab", "b"], ["é", "e", "z", "€"],
        ["\u{E000}", "😀", "a"], ["\u{FFFD}", "\u{10000}", "\u{D7FF}"], ["x", "x"], ["", "a"], ["ä", "a\u{308}"],
    ])
    func objectsAreSortedByUTF16CodeUnits(_ names: [String]) {
        let members = names.enumerated().map { ($0.element, $0.offset) }
        var json: [UInt8] = [UInt8(ascii: "{")]
        for (offset, member) in members.enumerated() {
            if offset > 0 { json.append(UInt8(ascii: ",")) }
            JCS.appendString(member.0, to: &json)
            json.append(contentsOf: ":\(member.1)".utf8)
        }
        json.append(UInt8(ascii: "}"))
        let tape = try! JSONTape(parsing: json)
        var out: [UInt8] = []
        let ok = JCS.appendCanonical(tape, 0, to: &out)
        let expected = Self.reference(members)
        #expect(ok == (expected != nil))
        if ok { #expect(String(decoding: out, as: UTF8.self) == expected) }
    }

    @Test func escapedNamesTakeTheGeneralPath() {
        let tape = try! JSONTape(parsing: Array(#"{"b":1,"\u0061":2,"a\"":3}"#.utf8))
        var out: [UInt8] = []
        #expect(JCS.appendCanonical(tape, 0, to: &out))
        #expect(String(decoding: out, as: UTF8.self) == #"{"a":2,"a\"":3,"b":1}"#)
    }
}

/// A small deterministic generator, so a failure names a reproducible input.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
