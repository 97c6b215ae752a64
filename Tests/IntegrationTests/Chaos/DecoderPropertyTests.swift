import CDCCore
import Foundation
import Testing

// The emulator's own strict JSON parser and RFC 8785 writer (no code shared with CDCCore) judge the decoder's output.
@testable import CertyoEmulator

/// Properties of the decoder over random rows: valid rows decode to canonical JSON that holds the row's values and
/// re-canonicalises to itself; damaged bytes never trap and always end as a record, a skip or a dead letter.
@Suite(.timeLimit(.minutes(1)))
struct DecoderPropertyTests {
    static let table = TableName(schema: "public", table: "props")

    static let catalog = ColumnCatalog(tables: [
        table: TableColumns(
            columns: [
                .init(name: "id", formatType: "bigint", category: "N"),
                .init(name: "n", formatType: "integer", category: "N"),
                .init(name: "t", formatType: "text", category: "S"),
                .init(name: "b", formatType: "boolean", category: "B"),
                .init(name: "price", formatType: "numeric(12,2)", category: "N"),
                .init(name: "u", formatType: "uuid", category: "U"),
                .init(name: "d", formatType: "date", category: "D"),
                .init(name: "ts", formatType: "timestamp without time zone", category: "D"),
                .init(name: "j", formatType: "jsonb", category: "U"),
            ],
            primaryKey: ["id"]
        ),
    ])

    /// One random row, as values and as the schemaless Debezium envelope that carries it.
    struct Row {
        var id: Int64
        var n: Int32
        var t: String
        var b: Bool
        var cents: Int64
        var u: String
        var days: Int32
        var micros: Int64
        var jsonNumber: Int

        var price: String {
            let sign = cents < 0 ? "-" : ""
            let magnitude = cents.magnitude
            let fraction = String(magnitude % 100)
            return "\(sign)\(magnitude / 100).\(fraction.count == 1 ? "0" + fraction : fraction)"
        }

        var date: String { Self.utc("yyyy-MM-dd", Double(days) * 86_400) }

        var timestamp: String {
            let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
            let fraction = micros - seconds * 1_000_000
            let digits = String(fraction)
            return Self.utc("yyyy-MM-dd'T'HH:mm:ss", Double(seconds)) + "."
                + String(repeating: "0", count: 6 - digits.count) + digits
        }

        static func utc(_ format: String, _ seconds: Double) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.calendar = Calendar(identifier: .gregorian)
            formatter.dateFormat = format
            return formatter.string(from: Date(timeIntervalSince1970: seconds))
        }

        static func random(using generator: inout SeededGenerator) -> Row {
            // Text: ASCII, escapes, controls, two- to four-byte characters (never lone surrogates: Kafka's JSON is
            // produced from valid Java strings).
            let alphabet: [Character] = Array("az AZ09\"\\/\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}é€😀中\u{2028}")
            let length = Int.random(in: 0..<40, using: &generator)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            let uuid = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }
                .joined()
            let u = [uuid.prefix(8), uuid.dropFirst(8).prefix(4), uuid.dropFirst(12).prefix(4),
                     uuid.dropFirst(16).prefix(4), uuid.dropFirst(20)].joined(separator: "-")
            return Row(
                id: Bool.random(using: &generator)
                    ? Int64.random(in: -1_000_000...1_000_000, using: &generator)
                    : Int64.random(in: Int64.min...Int64.max, using: &generator),
                n: Int32.random(in: Int32.min...Int32.max, using: &generator),
                t: text,
                b: Bool.random(using: &generator),
                cents: Int64.random(in: -99_999_999_999...99_999_999_999, using: &generator),
                u: u,
                // Years 1600 to 9909 (Foundation's calendar turns Julian before 1582; PostgreSQL's never does).
                days: Int32.random(in: -135_000...2_900_000, using: &generator),
                micros: Int64.random(in: -11_000_000_000_000_000...250_000_000_000_000_000, using: &generator),
                jsonNumber: Int.random(in: -1000...1000, using: &generator)
            )
        }

        func envelope(lsn: Int) -> SourceMessage {
            func quoted(_ text: String) -> String {
                let data = try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
                return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
            }
            let j = quoted(#"{"z": [1, 2.50, "x"], "a": \#(jsonNumber)}"#)
            let after = #"{"id":\#(id),"n":\#(n),"t":\#(quoted(t)),"b":\#(b),"price":"\#(price)","u":"\#(u)","#
                + #""d":\#(days),"ts":\#(micros),"j":\#(j)}"#
            let value = #"{"before":null,"after":\#(after),"source":{"db":"propdb","schema":"public","#
                + #""table":"props","lsn":\#(lsn),"ts_ms":1764000000000},"op":"c","ts_ms":1764000000100}"#
            return SourceMessage(topic: "certyo.public.props", partition: 0, offset: Int64(lsn), key:
                Array(#"{"id":\#(id)}"#.utf8), value: Array(value.utf8), headers: [])
        }
    }

    @Test func randomValidRowsDecodeToCanonicalJSONHoldingTheirValues() throws {
        var random = SeededGenerator.fromEnvironment(test: "decoder property (valid rows)")
        var decoder = DebeziumDecoder(catalog: Self.catalog)
        for index in 0..<500 {
            let row = Row.random(using: &random)
            let outcome = decoder.decode(row.envelope(lsn: 1_000 + index * 8))
            guard case .record(let record) = outcome else {
                Issue.record("row \(row): \(outcome)")
                continue
            }
            let payload = record.recordPayload
            let parsed = try JSONParser.parse(payload)
            #expect(try JCS.canonicalBytes(parsed) == payload, "re-canonicalises to itself: \(row)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
            if row.id.magnitude <= (1 << 53) - 1 {
                #expect((object["id"] as? NSNumber)?.int64Value == row.id, "bigint as a number")
            } else {
                #expect(object["id"] as? String == "\(row.id)", "bigint beyond 2^53 as a string of digits")
            }
            #expect(object["t"] as? String == row.t, "text survives: \(row.t.debugDescription)")
            #expect(object["b"] as? Bool == row.b)
            #expect(object["price"] as? String == row.price)
            #expect(object["u"] as? String == row.u)
            #expect(object["d"] as? String == row.date, "days \(row.days)")
            #expect(object["ts"] as? String == row.timestamp, "micros \(row.micros)")
            #expect((object["j"] as? [String: Any])?["a"] as? Int == row.jsonNumber)
            #expect(record.recordId == "\(row.id)")
            #expect(record.idempotencyKey == "dbz1:propdb:public.props:\(1_000 + index * 8):c:\(row.id)")
        }
    }

    @Test func randomByteDamageNeverTrapsAndAlwaysEndsAsRecordSkipOrDeadLetter() throws {
        var random = SeededGenerator.fromEnvironment(test: "decoder property (damage)")
        var decoder = DebeziumDecoder(catalog: Self.catalog)
        var tally: [String: Int] = [:]
        for index in 0..<400 {
            let message = Row.random(using: &random).envelope(lsn: 1_000 + index * 8)
            for _ in 0..<10 {
                var damaged = message
                var bytes = message.value!
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes.removeLast(Int.random(in: 1..<bytes.count, using: &random))
                case 1:
                    for _ in 0..<Int.random(in: 1...4, using: &random) {
                        bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                    }
                case 2:
                    bytes.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0..<bytes.count,
                                                                                              using: &random))
                default:
                    let start = Int.random(in: 0..<bytes.count, using: &random)
                    bytes.removeSubrange(start..<min(bytes.count, start + Int.random(in: 1...20, using: &random)))
                }
                damaged.value = bytes
                if Bool.random(using: &random), var key = damaged.key, !key.isEmpty {
                    key[Int.random(in: 0..<key.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                    damaged.key = key
                }
                var outcome = decoder.decode(damaged)
                if case .needsCatalog(let table) = outcome {
                    // What the pipeline does: refresh the table's catalog once and decode again, which must end it.
                    if let columns = Self.catalog[table] { decoder.updateCatalog(columns, for: table) }
                    else { decoder.updateCatalog(TableColumns(columns: [], primaryKey: []), for: table) }
                    outcome = decoder.decode(damaged)
                }
                switch outcome {
                case .record(let record):
                    tally["record", default: 0] += 1
                    let parsed = try JSONParser.parse(record.recordPayload)
                    #expect(try JCS.canonicalBytes(parsed) == record.recordPayload)
                case .skip(let reason):
                    tally["skip", default: 0] += 1
                    #expect(!reason.code.isEmpty)
                case .deadLetter(let reason):
                    tally["deadLetter:" + reason.code, default: 0] += 1
                    #expect(!reason.code.isEmpty && !reason.message.isEmpty)
                case .needsCatalog(let table):
                    Issue.record("still needs the catalog of \(table) after a refresh")
                }
            }
        }
        print("decoder property (damage): \(tally.sorted { $0.key < $1.key })")
        #expect(tally.values.reduce(0, +) == 4_000)
    }
}
