import Foundation
import Testing

@testable import CDCCore

/// The paths added for decode speed (issue #10 (c)) against simple reference versions written here, over edge
/// cases: they must give exactly the bytes of the general paths.
@Suite struct DecoderSpeedPathTests {
    typealias Behaviour = DebeziumDecoderBehaviourTests

    // MARK: Byte scanning and comparing

    /// The first `"`, `\` or control byte, one byte at a time.
    static func referenceScan(_ bytes: [UInt8], from: Int) -> Int {
        var index = from
        while index < bytes.count, bytes[index] != 0x22, bytes[index] != 0x5C, bytes[index] >= 0x20 { index += 1 }
        return index
    }

    @Test func theWordScanStopsAtTheFirstSpecialByteWhereverItIs() {
        let specials: [UInt8] = [0x22, 0x5C, 0x00, 0x1F, 0x0A]
        // Bytes that trip a SWAR borrow when they follow a match (0x21, 0x23, 0x5D, 0x20, 0x80, 0xFF).
        let fillers: [UInt8] = [0x61, 0x21, 0x23, 0x5D, 0x20, 0x80, 0xFF, 0xC3]
        for length in 0..<40 {
            for position in 0...length {
                for special in specials {
                    for filler in fillers {
                        var bytes = [UInt8](repeating: filler, count: length)
                        if position < length { bytes[position] = special }
                        // A second special byte later must not matter.
                        if position + 3 < length { bytes[position + 3] = 0x22 }
                        for start in [0, min(1, length)] where start <= position || position == length {
                            let found = bytes.withUnsafeBufferPointer {
                                JSONTape.scanPlainBytes($0, from: start, end: length)
                            }
                            #expect(found == Self.referenceScan(bytes, from: start),
                                    "length \(length) special \(special) at \(position) filler \(filler)")
                        }
                    }
                }
            }
        }
    }

    @Test func schemaBytesCompareEqualOnlyWhenEveryByteIs() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 100, 5_000] {
            let other = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for prefix in [0, 3] {
                let value = [UInt8](repeating: 0x7B, count: prefix) + other + [0x7D]
                let range = prefix..<(prefix + length)
                #expect(DebeziumDecoder.bytesEqual(value, range, other))
                var positions = Set([0, length / 2, length - 1].filter { $0 >= 0 && $0 < length })
                if length > 40 { positions.formUnion([31, 32, 33, length - 33]) }
                for position in positions {
                    var changed = value
                    changed[prefix + position] ^= 0x01
                    #expect(!DebeziumDecoder.bytesEqual(changed, range, other), "length \(length) at \(position)")
                }
                if length > 0 {
                    #expect(!DebeziumDecoder.bytesEqual(value, prefix..<(prefix + length - 1), other))
                }
            }
        }
    }

    @Test func aSchemaChangedAnywhereIsParsedAgain() {
        var decoder = Behaviour.decoder()
        let fields = #"{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}"#
        let base = Behaviour.withSchema(Behaviour.envelope(after: #"{"id":1,"name":"a"}"#), rowFields: fields)
        #expect(decoder.decode(Behaviour.message(base)).payloadText == #"{"id":1,"name":"a"}"#)
        #expect(decoder.decode(Behaviour.message(base)).payloadText == #"{"id":1,"name":"a"}"#)
        #expect(decoder.schemaParseCount == 1)
        // Same length, one byte different, deep inside the schema (past the first 32-byte step).
        let renamed = base.replacingOccurrences(of: #""name":"certyo.public.items.Envelope""#,
                                                with: #""name":"certyo.public.items.Envelopf""#)
        #expect(renamed != base && renamed.utf8.count == base.utf8.count)
        #expect(decoder.decode(Behaviour.message(renamed)).payloadText == #"{"id":1,"name":"a"}"#)
        #expect(decoder.schemaParseCount == 2)
    }

    @Test func escapesAreDecodedAsFoundationDecodesThem() throws {
        let bodies = [#"plain"#, #"a\"b"#, #"\"lead"#, #"trail\""#, #"\\\/\b\f\n\r\t"#, #"\u00e9x\u2615"#,
                      #"\ud834\udd1e after"#, #"mixed é ☕ \"q\" 日本"#, #"{\"eco\": true, \"size\": {\"h\": 2.5}}"#, ""]
        for body in bodies {
            let bytes = Array(body.utf8)
            var out: [UInt8] = [0x2A]
            #expect(JSONTape.unescape(bytes, 0..<bytes.count, into: &out), "\(body)")
            let array = try JSONSerialization.jsonObject(with: Data("[\"\(body)\"]".utf8)) as! [String]
            #expect(String(decoding: out.dropFirst(), as: UTF8.self) == array[0], "\(body)")
        }
        for bad in [#"a\"#, #"\x"#, #"\u12"#, #"\ud834"#, #"\udd1e"#, #"\ud834\u0041"#] {
            let bytes = Array(bad.utf8)
            var out: [UInt8] = []
            #expect(!JSONTape.unescape(bytes, 0..<bytes.count, into: &out), "\(bad)")
        }
    }

    @Test func integersParseAsTheStandardLibraryParsesThem() {
        let texts = ["0", "-0", "7", "-7", "123456789012345678", "-123456789012345678", "999999999999999999",
                     "-999999999999999999", "1234567890123456789", "9223372036854775807", "-9223372036854775808",
                     "9223372036854775808", "-9223372036854775809", "99999999999999999999", "", "-", "1a", "-1-",
                     "12345678901234567a", "1710498600500000"]
        for text in texts {
            let bytes = Array(text.utf8)
            #expect(JSONTape.parseInt64(bytes, 0..<bytes.count) == Int64(text), "\(text)")
        }
    }

    // MARK: The row writer

    @Test func theWriterHoldsWhatAnArrayWouldAcrossGrowth() {
        var writer = ByteWriter(capacity: 16)
        var array: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        for step in 0..<2_000 {
            switch step % 4 {
            case 0:
                let byte = UInt8.random(in: 0...255, using: &generator)
                writer.append(byte)
                array.append(byte)
            case 1:
                let run = (0..<Int.random(in: 0...70, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                run.withUnsafeBufferPointer { writer.append(contentsOf: $0) }
                array.append(contentsOf: run)
            case 2:
                Temporal.appendTimestamp(micros: Int64(step) * 1_234_567_891, to: &writer)
                Temporal.appendTimestamp(micros: Int64(step) * 1_234_567_891, to: &array)
            default:
                writer.append(contentsOf: "x\(step)".utf8.lazy.map { $0 })  // not contiguous: byte by byte
                array.append(contentsOf: "x\(step)".utf8)
            }
            #expect(writer.count == array.count)
        }
        #expect(writer.bytes == array)
        writer.makeUnique()
        #expect(writer.count == 0 && writer.bytes.isEmpty)
    }

    @Test func aCopiedWriterOrDecoderNeverWritesIntoTheOthersMemory() {
        var first = ByteWriter(capacity: 16)
        first.append(contentsOf: Array("abc".utf8))
        var second = first  // shares the memory
        second.makeUnique()  // so gets its own
        second.append(contentsOf: Array("XYZW".utf8))
        first.append(contentsOf: Array("d".utf8))
        #expect(String(decoding: first.bytes, as: UTF8.self) == "abcd")
        #expect(String(decoding: second.bytes, as: UTF8.self) == "XYZW")

        var decoder = Behaviour.decoder()
        _ = decoder.decode(Behaviour.message(Behaviour.envelope(after: #"{"id":1,"name":"warm","price":"1"}"#)))
        var copy = decoder
        for index in 0..<5 {
            let a = decoder.decode(Behaviour.message(Behaviour.envelope(after: #"{"id":1,"name":"a\#(index)","price":"1"}"#)))
            let b = copy.decode(Behaviour.message(Behaviour.envelope(after: #"{"id":1,"name":"bb\#(index)","price":"2"}"#)))
            #expect(a.payloadText == #"{"id":1,"name":"a\#(index)","price":"1.00"}"#)
            #expect(b.payloadText == #"{"id":1,"name":"bb\#(index)","price":"2.00"}"#)
        }
    }

    @Test func parseErrorsNameTheByteTheyStopAt() {
        let cases: [(String, String)] = [
            ("[1.]", "invalid number at byte 3"),
            ("-", "invalid number at byte 1"),
            ("[1e]", "invalid number at byte 3"),
            ("[1e+", "invalid number at byte 4"),
            (#"{"a":01}"#, "expected ',' or '}' at byte 6"),
            (#""ab"#, "unterminated string at byte 3"),
            ("\"a\u{01}b\"", "control character in a string at byte 2"),
            (#""abcdefghijklmnop\"#, "unterminated string at byte 19"),
            (#"{"a":"b"x}"#, "expected ',' or '}' at byte 8"),
        ]
        for (text, expected) in cases {
            do {
                _ = try JSONTape(parsing: Array(text.utf8))
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.description == expected, "\(text)")
            }
        }
    }

    // MARK: Tape memory reuse

    static func nodes(_ tape: JSONTape, _ index: Int = 0) -> [String] {
        let node = tape[index]
        var text = ["\(node.kind) \(node.flag) \(node.start) \(node.end) \(node.count)"]
        switch node.kind {
        case .object:
            tape.forEachMember(index) { key, value in
                text += nodes(tape, key)
                text += nodes(tape, value)
            }
        case .array:
            tape.forEachElement(index) { text += nodes(tape, $0) }
        default:
            break
        }
        return text
    }

    @Test func aTapeParsedIntoReusedMemoryIsTheTapeParsedAfresh() throws {
        let documents = [
            #"{"a":[1,2,{"b":"c\"d"}],"e":null,"f":-1.5e3,"g":true,"h":{"i":{}}}"#,
            #"[]"#,
            #"{"x":"short"}"#,
            #"{"long":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20],"nested":[[[[]]]],"s":"é☕𝄞"}"#,
            #"7"#,
        ]
        var storage: [JSONTape.Node] = []
        for text in documents + documents.reversed() {
            let bytes = Array(text.utf8)
            let fresh = try JSONTape(parsing: bytes)
            let reused = try JSONTape(parsing: bytes, reusing: &storage)
            #expect(Self.nodes(reused) == Self.nodes(fresh), "\(text)")
            storage = reused.releaseNodes()
        }
        // A failure leaves the storage usable (it is just not handed back).
        #expect((try? JSONTape(parsing: Array(#"{"a":}"#.utf8), reusing: &storage)) == nil)
        let after = try JSONTape(parsing: Array(documents[0].utf8), reusing: &storage)
        #expect(Self.nodes(after) == Self.nodes(try JSONTape(parsing: Array(documents[0].utf8))))
    }

    // MARK: JSON columns with shared sorting space

    @Test func nestedObjectsSortedOnOneStackMatchTheGeneralPath() throws {
        let documents = [
            #"{"z":1,"a":{"y":[{"q":1,"b":2},{"c":{"k":1,"d":2}}],"b":"x"},"m":[],"c":{"b":{"a":{}}}}"#,
            #"{"b":{"d":1,"c":2},"a":{"f":1,"e":2}}"#,
            #"{"eco": true, "size": {"h": 2.5, "w": 10}, "codes": [1, 2, 3], "color": "red"}"#,
            #"{"a":{"x":1,"x":2}}"#,  // duplicate deep inside: not I-JSON
            #"{"\u0062":1,"a":{"d":1,"c":2}}"#,  // escaped name: the UTF-16 path, with a byte-sorted object inside
        ]
        var members: [JCS.MemberSpan] = [(1, 2, 3)]  // left over from a caller: must be kept
        for text in documents {
            let tape = try JSONTape(parsing: Array(text.utf8))
            var general: [UInt8] = []
            let generalOK = JCS.appendCanonical(tape, 0, to: &general)
            var shared: [UInt8] = []
            let sharedOK = JCS.appendCanonical(tape, 0, to: &shared, members: &members)
            #expect(sharedOK == generalOK, "\(text)")
            if generalOK { #expect(shared == general, "\(text)") }
            #expect(members.count == 1 && members[0] == (1, 2, 3))
        }
        var out: [UInt8] = []
        _ = JCS.appendCanonical(try JSONTape(parsing: Array(documents[0].utf8)), 0, to: &out)
        #expect(String(decoding: out, as: UTF8.self)
            == #"{"a":{"b":"x","y":[{"b":2,"q":1},{"c":{"d":2,"k":1}}]},"c":{"b":{"a":{}}},"m":[],"z":1}"#)
    }

    @Test func jsonColumnsDecodedOneAfterAnotherDoNotShareLeftovers() {
        let columns = TableColumns(
            columns: [.init(name: "id", formatType: "bigint", category: "N"),
                      .init(name: "doc", formatType: "jsonb", category: "U")],
            primaryKey: ["id"])
        var decoder = DebeziumDecoder(catalog: ColumnCatalog(tables: [Behaviour.items: columns]))
        let cases: [(String, String?)] = [
            (#""{\"b\": {\"d\": 1, \"c\": [1, {\"f\": 2, \"e\": 3}]}, \"a\": \"x\"}""#,
             #"{"doc":{"a":"x","b":{"c":[1,{"e":3,"f":2}],"d":1}},"id":1}"#),
            (#""[1, 2]""#, #"{"doc":[1,2],"id":1}"#),
            (#""{\"a\": 1, \"a\": 2}""#, nil),  // duplicate names: dead-lettered
            (#""{\"k\": \"v\"}""#, #"{"doc":{"k":"v"},"id":1}"#),
            (#""{\"k\": ""#, nil),  // not JSON
            (#""{\"b\": 1, \"a\": {\"y\": 2, \"x\": 1}}""#, #"{"doc":{"a":{"x":1,"y":2},"b":1},"id":1}"#),
        ]
        for (doc, expected) in cases {
            let outcome = decoder.decode(Behaviour.message(Behaviour.envelope(after: #"{"id":1,"doc":\#(doc)}"#)))
            if let expected {
                #expect(outcome.payloadText == expected, "\(doc)")
            } else {
                #expect(outcome.deadLetter?.code == "invalid_value", "\(doc)")
            }
        }
    }

    // MARK: Temporal and interval text

    /// The text formatting the stack writers replaced.
    static func referencePadded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value.magnitude)
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func referenceTimestamp(micros: Int64) -> String {
        var days = micros / Temporal.microsPerDay
        var ofDay = micros % Temporal.microsPerDay
        if ofDay < 0 {
            ofDay += Temporal.microsPerDay
            days -= 1
        }
        return referenceDate(days: days) + "T" + referenceTime(micros: ofDay)
    }

    static func referenceDate(days: Int64) -> String {
        let (year, month, day) = Temporal.civil(days: days)
        return referencePadded(year, 4) + "-" + referencePadded(month, 2) + "-" + referencePadded(day, 2)
    }

    static func referenceTime(micros: Int64) -> String {
        let seconds = micros / 1_000_000
        return referencePadded(seconds / 3600, 2) + ":" + referencePadded(seconds / 60 % 60, 2) + ":"
            + referencePadded(seconds % 60, 2) + "." + referencePadded(micros % 1_000_000, 6)
    }

    static let dayEdges: [Int64] = [
        0, -1, 1, 19_814, -719_528, -719_529, -719_162, 2_932_896, 2_932_897, -2_500_000, 107_000_000, 2_200_000_000,
    ]

    @Test(arguments: dayEdges)
    func datesAndTimestampsMatchTheReference(_ days: Int64) {
        var out: [UInt8] = [0x2A]
        Temporal.appendDate(days: days, to: &out)
        #expect(String(decoding: out.dropFirst(), as: UTF8.self) == Self.referenceDate(days: days))
        guard days.magnitude < 100_000_000 else { return }  // beyond, micros overflow Int64
        for ofDay: Int64 in [0, 1, 999_999, 1_000_000, 34_200_123_456, Temporal.microsPerDay - 1] {
            let micros = days * Temporal.microsPerDay + ofDay
            out.removeAll()
            Temporal.appendTimestamp(micros: micros, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == Self.referenceTimestamp(micros: micros), "\(micros)")
            let negative = -micros
            out.removeAll()
            Temporal.appendTimestamp(micros: negative, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == Self.referenceTimestamp(micros: negative), "\(negative)")
        }
    }

    @Test func timesOfDayMatchTheReference() {
        for micros: Int64 in [0, 1, 59_999_999, 3_599_999_999, 30_600_000_000, 63_930_123_000, 86_399_999_999,
                              Temporal.microsPerDay]
        {
            var out: [UInt8] = []
            Temporal.appendTime(micros: micros, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == Self.referenceTime(micros: micros))
        }
        #expect({ var out: [UInt8] = []; Temporal.appendTime(micros: Temporal.microsPerDay, to: &out)
                  return String(decoding: out, as: UTF8.self) }() == "24:00:00.000000")
    }

    /// `appendISO8601` as it was written with `String` digits.
    static func referenceISO8601(_ interval: Temporal.Interval) -> String {
        let year = interval.months / 12
        let month = interval.months % 12
        let day = interval.days
        let hour = interval.micros / 3_600_000_000
        let minute = interval.micros / 60_000_000 % 60
        let second = interval.micros / 1_000_000 % 60
        let fraction = interval.micros % 1_000_000
        if year == 0 && month == 0 && day == 0 && hour == 0 && minute == 0 && second == 0 && fraction == 0 {
            return "PT0S"
        }
        var text = "P"
        func part(_ value: Int64, _ unit: String) { if value != 0 { text += String(value) + unit } }
        part(year, "Y")
        part(month, "M")
        part(day, "D")
        if hour != 0 || minute != 0 || second != 0 || fraction != 0 { text += "T" }
        part(hour, "H")
        part(minute, "M")
        if second != 0 || fraction != 0 {
            if second < 0 || fraction < 0 { text += "-" }
            text += String(second.magnitude)
            if fraction != 0 {
                var digits = referencePadded(Int64(fraction.magnitude), 6)
                while digits.hasSuffix("0") { digits.removeLast() }
                text += "." + digits
            }
            text += "S"
        }
        return text
    }

    @Test func intervalsAreWrittenAsTheReferenceWritesThem() {
        let micros: [Int64] = [0, 1, -1, 10, 120, 500_000, -500_000, 999_999, 1_000_000, 6_500_000, -6_500_000,
                               59_999_999, 3_600_000_001, 14_706_500_000, -14_706_500_000, .max, .min + 1]
        for months: Int64 in [0, 1, -1, 11, 12, 27, -27, 1_000_000] {
            for days: Int64 in [0, 3, -10, 365] {
                for value in micros {
                    let interval = Temporal.Interval(months: months, days: days, micros: value)
                    var out: [UInt8] = []
                    Temporal.appendISO8601(interval, to: &out)
                    #expect(String(decoding: out, as: UTF8.self) == Self.referenceISO8601(interval))
                }
            }
        }
    }

    @Test func durationsParseTheSameFromContiguousAndOtherCollections() {
        let texts = ["P2Y3M10DT4H5M6.5S", "-P1Y", "PT0S", "P-1Y-2M", "PT-0.000001S", "P1W", "PT1.5M", "P", "",
                     "P1Y2", "PT", "P1DT", "P9223372036854775807Y", "-P1D2H", "P1,5DT", "PT1H1H"]
        for text in texts {
            let bytes = Array(text.utf8)
            let contiguous = Temporal.parseISODuration(bytes[...])
            let lazy = Temporal.parseISODuration(bytes.lazy.map { $0 })  // not contiguous: the copying path
            #expect(contiguous == lazy, "\(text)")
        }
        #expect(Temporal.parseISODuration(Array("P2Y3M10DT4H5M6.5S".utf8))
            == Temporal.Interval(months: 27, days: 10, micros: 14_706_500_000))
        #expect(Temporal.parseISODuration(Array("-P1Y".utf8)) == Temporal.Interval(months: -12, days: 0, micros: 0))
    }

    // MARK: Base64 and UUIDs

    /// What `isCanonical` meant before: decodes, and the decoded length is the padded length's.
    static func referenceIsCanonical(_ text: [UInt8]) -> Bool {
        guard text.count % 4 == 0, !text.contains(UInt8(ascii: "-")), !text.contains(UInt8(ascii: "_")),
            let decoded = Base64.decode(text)
        else { return false }
        return decoded.count == text.count / 4 * 3 - text.reversed().prefix(while: { $0 == UInt8(ascii: "=") }).count
    }

    @Test func canonicalBase64IsRecognisedWithoutDecoding() {
        let alphabet = Array("AZaz09+/=-_ .\u{7F}".utf8) + [0xC3]
        var generator = SystemRandomNumberGenerator()
        var texts: [[UInt8]] = ["", "3q2+7w==", "3q2+7w=", "3q2+7w===", "3q2+7w=A", "QQ==", "QR==", "QUI=", "QUJD",
                                "QUJ-", "====", "A===", "AB=="].map { Array($0.utf8) }
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...12, using: &generator)
            texts.append((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
        }
        for text in texts {
            #expect(Base64.isCanonical(text) == Self.referenceIsCanonical(text), "\(text)")
        }
    }

    @Test func uuidsAreLowercasedWhetherOrNotTheyNeedIt() {
        let columns = TableColumns(
            columns: [.init(name: "id", formatType: "bigint", category: "N"),
                      .init(name: "u", formatType: "uuid", category: "U")],
            primaryKey: ["id"])
        var decoder = DebeziumDecoder(catalog: ColumnCatalog(tables: [Behaviour.items: columns]))
        for (uuid, expected) in [("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                                 ("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                                 ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1F", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1f")]
        {
            let outcome = decoder.decode(Behaviour.message(Behaviour.envelope(after: #"{"id":1,"u":"\#(uuid)"}"#)))
            #expect(outcome.payloadText == #"{"id":1,"u":"\#(expected)"}"#)
        }
    }

    // MARK: Keys with schemas

    static func describe(_ outcome: DecodeOutcome) -> String {
        if let record = outcome.record { return "record \(record.recordId) \(record.idempotencyKey)" }
        if let reason = outcome.deadLetter { return "dead \(reason.code) \(reason.message)" }
        return "\(outcome)"
    }

    @Test func aKeyWithTheCachedSchemaDecodesAsAFreshDecoderDecodesIt() {
        let schema = #"{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"certyo.public.items.Key"}"#
        let otherSchema = schema.replacingOccurrences(of: "items.Key", with: "items.Kez")
        let keys = [
            #"{"schema":\#(schema),"payload":{"id":7}}"#,
            #"{"schema":\#(schema),"payload":{"id":8}}  "#,
            #"{"schema":\#(otherSchema),"payload":{"id":9}}"#,
            #"{"schema":\#(schema),"payload":{"id":}}"#,  // damaged payload
            #"{"schema":\#(schema),"payload":{"id":10},"extra":1}"#,  // a third member
            #"{"schema":\#(schema),"payload":{}}"#,
            #"{"schema":\#(schema),"payload":[1]}"#,
            #"{"schema":\#(schema),"payload":{"id":11}"#,  // unterminated
            #"{"schema":\#(schema),"payload":{"id":12}}"#,
        ]
        var warm = Behaviour.decoder()
        let first = warm.decode(Behaviour.message(Behaviour.envelope(after: #"{"id":1,"name":"a","price":"1"}"#),
                                                  key: #"{"schema":\#(schema),"payload":{"id":1}}"#))
        #expect(first.record?.recordId == "1")
        for key in keys {
            let message = Behaviour.message(Behaviour.envelope(after: #"{"id":1,"name":"a","price":"1"}"#), key: key)
            var fresh = Behaviour.decoder()
            #expect(Self.describe(warm.decode(message)) == Self.describe(fresh.decode(message)), "\(key)")
        }
        let last = warm.decode(Behaviour.message(Behaviour.envelope(after: #"{"id":12,"name":"a","price":"1"}"#),
                                                 key: keys[8]))
        #expect(last.record?.recordId == "12")
    }

    @Test func aPlanMatchesOnlyRowsWithItsMemberNamesInOrder() throws {
        let names = ["id", "name", "price_with_a_long_name", "é"]
        let plan = RowPlan(table: Behaviour.items, fieldKeys: names.map { Array($0.utf8) }, fieldNames: names,
                           converters: [.int64, .text, .text, .text], configuration: .init(), lossy: [])
        let rows: [(String, Bool)] = [
            (#"{"id":1,"name":"a","price_with_a_long_name":"2","é":3}"#, true),
            (#"{"id":1,"name":"a","price_with_a_long_name":"2","e":3}"#, false),
            (#"{"id":1,"name":"a","price_with_a_long_namf":"2","é":3}"#, false),
            (#"{"id":1,"nam":"a","price_with_a_long_name":"2","é":3}"#, false),
            (#"{"name":"a","id":1,"price_with_a_long_name":"2","é":3}"#, false),
            (#"{"id":1,"name":"a","price_with_a_long_name":"2"}"#, false),
            (#"{"id":1,"name":"a","price_with_a_long_name":"2","é":3,"x":4}"#, false),
        ]
        for (row, expected) in rows {
            let tape = try JSONTape(parsing: Array(row.utf8))
            #expect(plan.matches(tape, row: 0) == expected, "\(row)")
        }
    }

    // MARK: The previous message's table

    @Test func alternatingTablesKeepTheirOwnNamesAndPlans() {
        let other = TableName(schema: "public", table: "notes")
        let noteColumns = TableColumns(
            columns: [.init(name: "id", formatType: "bigint", category: "N"),
                      .init(name: "body", formatType: "text", category: "S")],
            primaryKey: ["id"])
        var decoder = DebeziumDecoder(catalog: ColumnCatalog(tables: [Behaviour.items: Behaviour.itemColumns,
                                                                      other: noteColumns]))
        let item = Behaviour.envelope(after: #"{"id":1,"name":"a","price":"2"}"#)
        let note = Behaviour.envelope(after: #"{"id":2,"body":"b"}"#)
            .replacingOccurrences(of: #""table":"items""#, with: #""table":"notes""#)
        for _ in 0..<3 {
            let first = decoder.decode(Behaviour.message(item)).record
            #expect(first?.collection == "public.items")
            #expect(first.map { String(decoding: $0.recordPayload, as: UTF8.self) } == #"{"id":1,"name":"a","price":"2.00"}"#)
            let second = decoder.decode(Behaviour.message(note, key: #"{"id":2}"#)).record
            #expect(second?.collection == "public.notes")
            #expect(second.map { String(decoding: $0.recordPayload, as: UTF8.self) } == #"{"body":"b","id":2}"#)
            #expect(second?.idempotencyKey == "dbz1:shop:public.notes:100:c:2")
        }
        // A catalog update for the table just seen is used at once (the remembered plan is dropped).
        decoder.updateCatalog(TableColumns(
            columns: [.init(name: "id", formatType: "bigint", category: "N"),
                      .init(name: "body", formatType: "integer", category: "N")],
            primaryKey: ["id"]), for: other)
        let changed = decoder.decode(Behaviour.message(note, key: #"{"id":2}"#))
        #expect(changed.deadLetter?.code == "unexpected_value")
    }
}
