import Foundation
import Testing

@testable import CDCCore

/// Errors are values: damaged messages give a dead-letter (or, if still valid, a well-formed record), never a trap.
@Suite struct DecoderRobustnessTests {
    /// A small deterministic generator, so a failure can be replayed.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let replacements: [UInt8] = Array(#"{}[]",:\0-9eE.-+ "#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xFF]

    @Test(.timeLimit(.minutes(1)), arguments: Fixtures.variants)
    func damagedMessagesNeverTrap(_ variant: Fixtures.Variant) throws {
        var random = SplitMix64(state: 42)
        var decoder = try Fixtures.decoder(variant)
        var outcomes = 0
        for line in try Fixtures.lines(variant) {
            guard let value = line.message.value else { continue }
            for attempt in 0..<40 {
                var damaged = value
                if attempt < 10 {
                    damaged.removeLast(Int(random.next() % UInt64(damaged.count)))
                } else {
                    for _ in 0..<(1 + attempt % 3) {
                        let position = Int(random.next() % UInt64(damaged.count))
                        damaged[position] = Self.replacements[Int(random.next() % UInt64(Self.replacements.count))]
                    }
                }
                var message = line.message
                message.value = damaged
                let outcome = decoder.decode(message)
                outcomes += 1
                if let record = outcome.record {
                    // Whatever got through is still a JSON object that hashes.
                    let object = try? JSONSerialization.jsonObject(with: Data(record.recordPayload))
                    #expect(object is [String: Any], "seq \(line.seq) attempt \(attempt) \(String(decoding: record.recordPayload.prefix(400), as: UTF8.self))")
                    #expect(record.recordHash.count == 71)
                } else if let reason = outcome.deadLetter {
                    #expect(!reason.code.isEmpty && !reason.message.isEmpty)
                }
            }
        }
        #expect(outcomes == 22 * 40)
    }

    @Test func aRowNamingAColumnTwiceIsDeadLetteredNotAnchoredWithTheNameTwice() {
        // One damaged byte can turn a column name into another ("j" -> "t"); a canonical row has each column once.
        let table = TableName(schema: "public", table: "props")
        let catalog = ColumnCatalog(tables: [
            table: TableColumns(columns: [.init(name: "id", formatType: "bigint", category: "N"),
                                          .init(name: "t", formatType: "text", category: "S"),
                                          .init(name: "j", formatType: "jsonb", category: "U")],
                                primaryKey: ["id"]),
        ])
        var decoder = DebeziumDecoder(catalog: catalog)
        func message(_ after: String) -> SourceMessage {
            let value = #"{"before":null,"after":"# + after + #","source":{"db":"d","schema":"public","table":"props","#
                + #""lsn":8,"ts_ms":1764000000000},"op":"c","ts_ms":1764000000100}"#
            return SourceMessage(topic: "certyo.public.props", partition: 0, offset: 0, key: Array(#"{"id":1}"#.utf8),
                                 value: Array(value.utf8), headers: [])
        }
        #expect(decoder.decode(message(#"{"id":1,"t":"a","j":"{}"}"#)).record != nil)
        let outcome = decoder.decode(message(#"{"id":1,"t":"a","t":"{}"}"#))
        #expect(outcome.deadLetter?.code == "malformed_json")
        #expect(outcome.deadLetter?.message.contains(#"names the column "t" twice"#) == true)
        // The next well-formed message of the table decodes as before.
        #expect(decoder.decode(message(#"{"id":1,"t":"a","j":"{}"}"#)).record != nil)
    }

    @Test func negativeZeroIntegersAreWrittenAsZero() throws {
        // "-0" is valid JSON but not canonical: one row state, one hash.
        let table = TableName(schema: "public", table: "nums")
        let catalog = ColumnCatalog(tables: [
            table: TableColumns(columns: [.init(name: "id", formatType: "bigint", category: "N"),
                                          .init(name: "n", formatType: "integer", category: "N"),
                                          .init(name: "m", formatType: "integer", category: "N")],
                                primaryKey: ["id"]),
        ])
        var decoder = DebeziumDecoder(catalog: catalog)
        let value = #"{"before":null,"after":{"id":-0,"n":-0,"m":-5},"source":{"db":"d","schema":"public","#
            + #""table":"nums","lsn":8,"ts_ms":1764000000000},"op":"c","ts_ms":1764000000100}"#
        let message = SourceMessage(topic: "certyo.public.nums", partition: 0, offset: 0,
                                    key: Array(#"{"id":-0}"#.utf8), value: Array(value.utf8), headers: [])
        let record = try #require(decoder.decode(message).record)
        #expect(String(decoding: record.recordPayload, as: UTF8.self) == #"{"id":0,"m":-5,"n":0}"#)
        #expect(record.recordId == "0")
    }

    @Test func hostileNumbersAreRefusedNotTrapped() {
        for (json, converter) in [
            (#"{"scale":9223372036854775807,"value":"AQ=="}"#, ValueConverter.variableScaleDecimal),
            ("9223372036854775807", .date),
            ("9223372036854775807", .timestamp(.millis)),
            ("-9223372036854775808", .timestamp(.micros)),
            (#""P9223372036854775807Y""#, .intervalString),
            (#""PT9999999999999999999H""#, .intervalString),
            (#""99999999999-01-01T00:00:00Z""#, .timestamptz),
        ] {
            let result = CanonicalValueTests.convert(json, converter)
            #expect(result.hasPrefix("<"), "\(json) → \(result)")
        }
    }
}
