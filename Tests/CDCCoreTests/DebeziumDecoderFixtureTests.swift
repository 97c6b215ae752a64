import Foundation
import Testing

@testable import CDCCore

/// The 26 captured events of each of the 4 lossless-decimal variants, against what schema.sql and workload.sql say
/// they must become.
@Suite struct DebeziumDecoderFixtureTests {
    static func decodeAll(_ variant: Fixtures.Variant) throws -> [(Fixtures.Line, DecodeOutcome)] {
        var decoder = try Fixtures.decoder(variant)
        return try Fixtures.lines(variant).map { ($0, decoder.decode($0.message)) }
    }

    @Test(arguments: Fixtures.variants)
    func everyEventHasItsExpectedOutcome(_ variant: Fixtures.Variant) throws {
        let decoded = try Self.decodeAll(variant)
        try #require(decoded.count == 26)
        for (line, outcome) in decoded {
            let expected = ExpectedEvents.outcomes[line.seq]
            switch expected {
            case .record(let op, let recordId, let payload), .recordWithRunValues(let op, let recordId, let payload):
                let record = try #require(outcome.record, "seq \(line.seq): \(outcome)")
                var wanted = payload
                if case .recordWithRunValues = expected {
                    let after = try #require(line.envelope?["after"] as? [String: Any])
                    wanted = wanted.replacingOccurrences(of: "{created_at}", with: after["created_at"] as! String)
                        .replacingOccurrences(of: "{external_id}", with: after["external_id"] as! String)
                }
                #expect(String(decoding: record.recordPayload, as: UTF8.self) == wanted, "seq \(line.seq)")
                #expect(record.operationType == op, "seq \(line.seq)")
                #expect(record.recordId == recordId, "seq \(line.seq)")
                #expect(record.database == "productdb")
                let source = try #require(line.envelope?["source"] as? [String: Any])
                #expect(record.collection == "public.\(source["table"] as! String)")
                #expect(record.sourceTimestamp == Self.iso(micros: (source["ts_us"] as! NSNumber).int64Value))
                let lsn = (source["lsn"] as! NSNumber).int64Value
                #expect(record.idempotencyKey.hasPrefix("dbz1:productdb:\(record.collection):\(lsn):"))
            case .skip(let code):
                #expect(outcome.skipCode == code, "seq \(line.seq): \(outcome)")
            case .deadLetter(let code, let mentions):
                let reason = try #require(outcome.deadLetter, "seq \(line.seq): \(outcome)")
                #expect(reason.code == code)
                for mention in mentions { #expect(reason.description.contains(mention), "\(reason)") }
            }
        }
    }

    @Test func sameRowStateGivesTheSameBytesAndHashInEveryVariant() throws {
        let all = try Fixtures.variants.map { try Self.decodeAll($0).map(\.1) }
        for seq in 0..<26 where seq != 7 {  // SKU-005's default values differ run to run
            let records = all.map { $0[seq].record }
            guard let first = records[0] else {
                #expect(records.allSatisfy { $0 == nil }, "seq \(seq)")
                continue
            }
            for (index, record) in records.enumerated() {
                let record = try #require(record, "seq \(seq) variant \(Fixtures.variants[index])")
                #expect(record.recordPayload == first.recordPayload, "seq \(seq) variant \(Fixtures.variants[index])")
                #expect(record.recordHash == first.recordHash)
                #expect(record.recordId == first.recordId)
            }
        }
        // And the hash is SHA-256 of exactly those bytes.
        let snapshotRow = try #require(all[0][3].record)
        #expect(snapshotRow.recordHash == "sha256:" + Self.sha256Hex(snapshotRow.recordPayload))
    }

    @Test(arguments: Fixtures.variants)
    func idempotencyKeysAreUniquePerEventAndStableOnReplay(_ variant: Fixtures.Variant) throws {
        let first = try Self.decodeAll(variant).compactMap { $0.1.record?.idempotencyKey }
        let replay = try Self.decodeAll(variant).compactMap { $0.1.record?.idempotencyKey }
        #expect(first.count == 20)
        #expect(Set(first).count == first.count)
        #expect(first == replay)
        // The snapshot's six reads share one LSN; the PK change's d and c share one LSN too.
        let lines = try Fixtures.lines(variant)
        let lsn = { (seq: Int) in ((lines[seq].envelope?["source"] as? [String: Any])?["lsn"] as? NSNumber)?.int64Value }
        #expect(Set((0..<6).map(lsn)).count == 1)
        #expect(lsn(12) == lsn(14))
    }

    @Test(arguments: Fixtures.variants)
    func lossyIntervalSettingIsWarnedOncePerTable(_ variant: Fixtures.Variant) throws {
        var decoder = try Fixtures.decoder(variant)
        for line in try Fixtures.lines(variant) { _ = decoder.decode(line.message) }
        let warnings = decoder.drainWarnings()
        // The samples use Debezium's default interval.handling.mode=numeric; only products has an interval.
        #expect(warnings.map(\.setting) == ["interval.handling.mode=numeric"])
        #expect(warnings.first?.table == Fixtures.products)
        #expect(warnings.first?.message.contains("interval.handling.mode=string") == true)
        #expect(decoder.drainWarnings().isEmpty)
    }

    @Test func schemalessMessagesAskForTheCatalogThenDecode() throws {
        let variant = Fixtures.variants[1]
        var configuration = DebeziumDecoder.Configuration()
        try configuration.applyConnectorProperties(try Fixtures.connectorProperties(variant))
        var decoder = DebeziumDecoder(configuration: configuration)
        let line = try Fixtures.lines(variant)[0]
        guard case .needsCatalog(let table) = decoder.decode(line.message) else {
            Issue.record("expected needsCatalog")
            return
        }
        #expect(table == Fixtures.products)
        decoder.updateCatalog(Fixtures.productsColumns, for: table)
        #expect(decoder.decode(line.message).payloadText == ExpectedEvents.p1Snapshot)
    }

    static func iso(micros: Int64) -> String {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = micros - seconds * 1_000_000
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            + "." + String(format: "%06lld", fraction) + "Z"
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        TestSHA256.hex(bytes)
    }
}
