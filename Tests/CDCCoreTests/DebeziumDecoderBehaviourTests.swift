import Foundation
import Testing

@testable import CDCCore

/// Synthetic messages for what the samples do not show: schema changes, unknown fields, exclusions, bad input.
@Suite struct DebeziumDecoderBehaviourTests {
    static let items = TableName(schema: "public", table: "items")

    static func source(lsn: Int = 100, extra: String = "") -> String {
        #"{"version":"3.6.3.Final","connector":"postgresql","name":"certyo","ts_ms":1700000000000,"snapshot":"false","db":"shop","ts_us":1700000000000001,"schema":"public","table":"items","txId":7,"lsn":\#(lsn)\#(extra)}"#
    }

    static func envelope(op: String = "c", after: String? = nil, before: String? = nil, lsn: Int = 100,
                         extra: String = "") -> String {
        #"{"before":\#(before ?? "null"),"after":\#(after ?? "null"),"source":\#(source(lsn: lsn)),"transaction":null,"op":"\#(op)","ts_ms":1700000000100\#(extra)}"#
    }

    static func withSchema(_ envelope: String, rowFields: String) -> String {
        let row = #"{"type":"struct","fields":[\#(rowFields)],"optional":true,"name":"certyo.public.items.Value""#
        return #"{"schema":{"type":"struct","fields":[\#(row),"field":"before"},\#(row),"field":"after"},{"type":"struct","fields":[],"optional":false,"field":"source"},{"type":"string","optional":false,"field":"op"}],"optional":false,"name":"certyo.public.items.Envelope","version":2},"payload":\#(envelope)}"#
    }

    static func message(_ value: String?, key: String? = #"{"id":1}"#) -> SourceMessage {
        SourceMessage(topic: "certyo.public.items", key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) })
    }

    static let itemColumns = TableColumns(
        columns: [
            .init(name: "id", formatType: "bigint", category: "N"),
            .init(name: "name", formatType: "text", category: "S"),
            .init(name: "price", formatType: "numeric(12,2)", category: "N"),
        ],
        primaryKey: ["id"])

    static func decoder(_ configure: (inout DebeziumDecoder.Configuration) -> Void = { _ in }) -> DebeziumDecoder {
        var configuration = DebeziumDecoder.Configuration()
        configure(&configuration)
        return DebeziumDecoder(configuration: configuration, catalog: ColumnCatalog(tables: [items: itemColumns]))
    }

    @Test func unknownEnvelopeAndSourceFieldsAreIgnored() {
        var decoder = Self.decoder()
        let value = #"{"before":null,"after":{"id":1,"name":"a","price":"1.5"},"source":\#(Self.source(extra: #","new_block":{"x":[1,2]}"#)),"op":"c","future_field":{"y":true},"ts_ms":1}"#
        let record = decoder.decode(Self.message(value)).record
        #expect(record.map { String(decoding: $0.recordPayload, as: UTF8.self) } == #"{"id":1,"name":"a","price":"1.50"}"#)
        #expect(record?.database == "shop")
        #expect(record?.collection == "public.items")
        #expect(record?.sourceTimestamp == "2023-11-14T22:13:20.000001Z")
        #expect(record?.idempotencyKey == "dbz1:shop:public.items:100:c:1")
    }

    @Test func aNewColumnMidStreamIsPickedUpWithSchemas() {
        var decoder = Self.decoder()
        let twoFields = #"{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}"#
        for lsn in 1...3 {
            let value = Self.withSchema(Self.envelope(after: #"{"id":1,"name":"a"}"#, lsn: lsn), rowFields: twoFields)
            #expect(decoder.decode(Self.message(value)).payloadText == #"{"id":1,"name":"a"}"#)
        }
        #expect(decoder.schemaParseCount == 1)  // unchanged schema: parsed once
        let threeFields = twoFields + #",{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","field":"added_at"}"#
        let value = Self.withSchema(Self.envelope(after: #"{"id":1,"name":"a","added_at":0}"#, lsn: 4), rowFields: threeFields)
        #expect(decoder.decode(Self.message(value)).payloadText
            == #"{"added_at":"1970-01-01T00:00:00.000000","id":1,"name":"a"}"#)
        #expect(decoder.schemaParseCount == 2)
    }

    @Test func aNewColumnMidStreamRefreshesTheCatalogWithoutSchemas() {
        var decoder = Self.decoder()
        let value = Self.envelope(after: #"{"id":1,"name":"a","price":"2","gift":true}"#)
        guard case .needsCatalog(let table) = decoder.decode(Self.message(value)) else {
            Issue.record("expected needsCatalog")
            return
        }
        #expect(table == Self.items)
        // A refresh that still lacks the column: dead-letter instead of asking forever.
        decoder.updateCatalog(Self.itemColumns, for: table)
        let reason = decoder.decode(Self.message(value)).deadLetter
        #expect(reason?.code == "unknown_column")
        #expect(reason?.message.contains("gift") == true)
        var columns = Self.itemColumns
        columns.columns.append(.init(name: "gift", formatType: "boolean", category: "B"))
        decoder.updateCatalog(columns, for: table)
        #expect(decoder.decode(Self.message(value)).payloadText == #"{"gift":true,"id":1,"name":"a","price":"2.00"}"#)
    }

    @Test func trackingAndExcludedColumnsAreLeftOut() {
        var decoder = Self.decoder { $0.excludedColumns = ["public.items.name"] }
        var columns = Self.itemColumns
        columns.columns.append(.init(name: "certyo_record_hash", formatType: "text", category: "S"))
        decoder.updateCatalog(columns, for: Self.items)
        let value = Self.envelope(after: #"{"id":1,"name":"a","price":"2.50","certyo_record_hash":"sha256:x"}"#)
        #expect(decoder.decode(Self.message(value)).payloadText == #"{"id":1,"price":"2.50"}"#)
    }

    @Test func bigintKeysBeyondTheSafeRange() {
        var decoder = Self.decoder()
        let value = Self.envelope(after: #"{"id":9007199254740993,"name":"a","price":"1"}"#)
        let record = decoder.decode(Self.message(value, key: #"{"id":9007199254740993}"#)).record
        #expect(record?.recordId == "9007199254740993")
        #expect(record.map { String(decoding: $0.recordPayload, as: UTF8.self) }
            == #"{"id":"9007199254740993","name":"a","price":"1.00"}"#)
    }

    @Test func badInputIsDeadLetteredWithAPreciseReason() {
        var decoder = Self.decoder()
        let notJSON = decoder.decode(Self.message("{\"before\":")).deadLetter
        #expect(notJSON?.code == "malformed_json")
        #expect(notJSON?.fix?.contains("JsonConverter") == true)

        #expect(decoder.decode(Self.message(#"{"hello":1}"#)).deadLetter?.code == "not_a_change_event")
        #expect(decoder.decode(Self.message(Self.envelope(op: "x"))).deadLetter?.code == "unknown_operation")
        let numericOp = decoder.decode(Self.message(Self.envelope().replacingOccurrences(of: #""op":"c""#, with: #""op":7"#)))
        #expect(numericOp.deadLetter?.code == "not_a_change_event")
        #expect(numericOp.deadLetter?.message.contains(#""op" is not a string"#) == true)

        let noKey = decoder.decode(Self.message(Self.envelope(after: #"{"id":1,"name":"a","price":"1"}"#), key: nil))
        #expect(noKey.deadLetter?.code == "no_primary_key")
        #expect(noKey.deadLetter?.fix?.contains("primary key") == true)

        // Schemaless, the decoder set to precise but the connector sends strings: names column and setting.
        var precise = Self.decoder { $0.decimalHandlingMode = .precise }
        let mismatch = precise.decode(Self.message(Self.envelope(after: #"{"id":1,"name":"a","price":"19.99"}"#)))
        #expect(mismatch.deadLetter?.code == "invalid_value")
        #expect(mismatch.deadLetter?.message.contains("price") == true)
        #expect(mismatch.deadLetter?.message.contains("public.items") == true)
        #expect(mismatch.deadLetter?.fix?.contains("decimal.handling.mode") == true)

        let toast = decoder.decode(Self.message(Self.envelope(
            op: "u", after: #"{"id":1,"name":"__debezium_unavailable_value","price":"1"}"#)))
        #expect(toast.deadLetter?.code == "toast_placeholder")
        #expect(toast.deadLetter?.fix == "ALTER TABLE public.items REPLICA IDENTITY FULL")
    }

    @Test func skipsAreDone() {
        var decoder = Self.decoder()
        #expect(decoder.decode(Self.message(nil)).skipCode == "tombstone")
        #expect(decoder.decode(Self.message(Self.envelope(op: "t"), key: nil)).skipCode == "truncate")
        #expect(decoder.decode(Self.message(#"{"op":"m","ts_ms":1,"message":{"prefix":"p","content":"AA=="}}"#))
            .skipCode == "logical_message")
    }

    @Test func deletesAnchorOnlyTheKeyEvenWithoutBefore() {
        var decoder = Self.decoder()
        let outcome = decoder.decode(Self.message(Self.envelope(op: "d", before: nil), key: #"{"id":7}"#))
        #expect(outcome.payloadText == #"{"id":7}"#)
        #expect(outcome.record?.operationType == .delete)
        #expect(outcome.record?.idempotencyKey == "dbz1:shop:public.items:100:d:7")
    }

    @Test func lossyDecimalDoublesAreConvertedAndWarnedOnce() {
        var decoder = Self.decoder { $0.decimalHandlingMode = .double }
        for lsn in 1...2 {
            let value = Self.envelope(after: #"{"id":1,"name":"a","price":19.99}"#, lsn: lsn)
            #expect(decoder.decode(Self.message(value)).payloadText == #"{"id":1,"name":"a","price":"19.99"}"#)
        }
        let warnings = decoder.drainWarnings()
        #expect(warnings.map(\.setting) == ["decimal.handling.mode=double"])
    }

    @Test func longRecordIdsAreHashedInTheIdempotencyKey() {
        var decoder = Self.decoder()
        var columns = Self.itemColumns
        columns.columns[0] = .init(name: "id", formatType: "text", category: "S")
        decoder.updateCatalog(columns, for: Self.items)
        let id = String(repeating: "k", count: 100)
        let value = Self.envelope(after: #"{"id":"\#(id)","name":"a","price":"1"}"#)
        let record = decoder.decode(Self.message(value, key: #"{"id":"\#(id)"}"#)).record
        #expect(record?.recordId == id)
        #expect(record?.idempotencyKey == "dbz1:shop:public.items:100:c:sha256=" + String(TestSHA256.hex(Array(id.utf8)).prefix(32)))
    }

    @Test func connectorPropertiesSetTheModes() throws {
        var configuration = DebeziumDecoder.Configuration()
        #expect(configuration.decimalHandlingMode == .string)
        #expect(configuration.intervalHandlingMode == .string)
        try configuration.applyConnectorProperties(["decimal.handling.mode": "double", "time.precision.mode": "connect"])
        #expect(configuration.decimalHandlingMode == .double)
        #expect(configuration.timePrecisionMode == .connect)
        #expect(configuration.intervalHandlingMode == .numeric)  // Debezium's own default when absent
        #expect(throws: DeadLetterReason.self) { try configuration.applyConnectorProperties(["binary.handling.mode": "octal"]) }
    }
}
