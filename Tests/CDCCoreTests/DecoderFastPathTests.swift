import Testing

@testable import CDCCore

/// The decoder's allocation-saving paths (reused scratch buffers, the one-column key, `after` parsed with the
/// envelope) must give exactly the records of the general paths.
@Suite struct DecoderFastPathTests {
    typealias Behaviour = DebeziumDecoderBehaviourTests

    @Test(arguments: [0, 1, -1, 9, 10, -10, 99, 100, 26_847_912, Int64.max, Int64.min, Int64.min + 1, -9_007_199_254_740_993])
    func decimalsAreWrittenAsStringDoes(_ value: Int64) {
        var out: [UInt8] = Array("x".utf8)
        IdempotencyKey.appendDecimal(value, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "x" + String(value))
    }

    @Test func aReusedScratchBufferLeavesNothingBehind() {
        var scratch: [UInt8] = []
        let table = TableName(schema: "public", table: "items")
        let long = IdempotencyKey.make(database: "a-long-database-name", table: table, lsn: 123_456_789_012,
                                       op: "u", recordId: "[1001,\"a long composite key\"]", scratch: &scratch)
        let short = IdempotencyKey.make(database: "db", table: table, lsn: 7, op: "c", recordId: "1", scratch: &scratch)
        #expect(long == "dbz1:a-long-database-name:public.items:123456789012:u:[1001,\"a long composite key\"]")
        #expect(short == "dbz1:db:public.items:7:c:1")
        #expect(DebeziumDecoder.isoTimestamp(micros: 1_700_000_000_000_001, scratch: &scratch)
            == "2023-11-14T22:13:20.000001Z")
        #expect(DebeziumDecoder.isoTimestamp(micros: -1, scratch: &scratch) == "1969-12-31T23:59:59.999999Z")
    }

    @Test func oneDecoderGivesEachMessageItsOwnKeyAndTimestamp() {
        var decoder = Behaviour.decoder()
        let keys = [#"{"id":123456789}"#, #"{"id":7}"#, #"{"id":-42}"#, #"{"id":9007199254740993}"#]
        for (offset, key) in keys.enumerated() {
            let id = key.dropFirst(6).dropLast()
            let value = Behaviour.envelope(after: #"{"id":\#(id),"name":"n","price":"2"}"#, lsn: 100 + offset)
            let record = decoder.decode(Behaviour.message(value, key: key)).record
            let expectedId = id == "9007199254740993" ? "9007199254740993" : String(id)
            #expect(record?.recordId == expectedId)
            #expect(record?.idempotencyKey == "dbz1:shop:public.items:\(100 + offset):c:\(expectedId)")
            #expect(record?.sourceTimestamp == "2023-11-14T22:13:20.000001Z")
        }
    }

    @Test func aStringKeyIsTheRecordIdWithoutQuotes() {
        let columns = TableColumns(
            columns: [.init(name: "code", formatType: "text", category: "S"), .init(name: "n", formatType: "integer", category: "N")],
            primaryKey: ["code"])
        var decoder = DebeziumDecoder(catalog: ColumnCatalog(tables: [Behaviour.items: columns]))
        let value = Behaviour.envelope(after: #"{"code":"a\"b","n":1}"#)
        let record = decoder.decode(Behaviour.message(value, key: #"{"code":"a\"b"}"#)).record
        #expect(record?.recordId == "a\"b")
        #expect(record?.idempotencyKey == "dbz1:shop:public.items:100:c:a\"b")
    }

    @Test func updatesUseAfterAndDeletesUseTheKeyWhateverBeforeHolds() {
        var decoder = Behaviour.decoder()
        let before = #"{"id":1,"name":"old","price":"1"}"#
        let update = Behaviour.envelope(op: "u", after: #"{"id":1,"name":"new","price":"3.5"}"#, before: before)
        #expect(decoder.decode(Behaviour.message(update)).payloadText == #"{"id":1,"name":"new","price":"3.50"}"#)
        let delete = Behaviour.envelope(op: "d", before: before)
        let record = decoder.decode(Behaviour.message(delete)).record
        #expect(record.map { String(decoding: $0.recordPayload, as: UTF8.self) } == #"{"id":1}"#)
        #expect(record?.operationType == .delete)
        // A damaged `before` is not looked at by an update (it is only spanned), but fails a delete.
        let damagedBefore = #"{"id":1,"name":}"#
        let updateWithDamage = Behaviour.envelope(op: "u", after: #"{"id":1,"name":"x","price":"1"}"#, before: damagedBefore)
        #expect(decoder.decode(Behaviour.message(updateWithDamage)).deadLetter == nil)
        let deleteWithDamage = Behaviour.envelope(op: "d", before: damagedBefore)
        #expect(decoder.decode(Behaviour.message(deleteWithDamage)).deadLetter?.code == "malformed_json")
    }
}
