import CDCCore
import Foundation
@testable import CertyoCDC
import Testing

@Suite struct CaptureSQLTests {
    @Test func identifiersAreQuotedWithTheirQuotesDoubled() {
        #expect(CaptureSQL.quote("Orders") == #""Orders""#)
        #expect(CaptureSQL.quote(#"we"ird"#) == #""we""ird""#)
    }

    @Test func listenSetupInstallsOneTriggerPerTableOverTheOutboxInTheCaptureSchema() throws {
        let tables = [try CaptureSettings.table("public.products", setting: .pollTable),
                      try CaptureSettings.table(#"sales.Order"s"#, setting: .pollTable)]
        let sql = CaptureSQL(schema: "cdc").listenSetupSQL(tables: tables)
        #expect(sql.contains(#"CREATE TABLE IF NOT EXISTS "cdc"._certyo_outbox"#))
        #expect(sql.contains(#"CREATE TABLE IF NOT EXISTS "cdc"._certyo_dead_letters"#))
        #expect(sql.contains(#"ON "public"."products""#))
        #expect(sql.contains(#"ON "sales"."Order""s""#))
        #expect(sql.components(separatedBy: "CREATE OR REPLACE TRIGGER").count == 3)
        // Pinned output settings and the certyo_* rule live in the trigger function.
        for setting in ["TimeZone = 'UTC'", "DateStyle = 'ISO'", "IntervalStyle = 'iso_8601'", "extra_float_digits = 3",
                        "bytea_output = 'hex'", "lc_monetary = 'C'", #"NOT LIKE 'certyo\_%'"#] {
            #expect(sql.contains(setting), "\(setting)")
        }
        #expect(sql.contains("pg_notify('certyo_outbox'"))
    }

    @Test func pollSetupCreatesTheCursorTable() throws {
        let table = try CaptureSettings.table("items", setting: .pollTable)
        let sql = CaptureSQL().pollSetupSQL(tables: [table], column: "updated_at", primaryKeys: [table: ["id"]])
        #expect(sql.contains(#"CREATE TABLE IF NOT EXISTS "public"._certyo_sync_cursors"#))
        #expect(sql.contains(#"("updated_at", "id")"#))
    }

    @Test func idempotencyKeysComeFromTheOutboxIdOrTheRowVersion() {
        let table = TableName(schema: "public", table: "products")
        #expect(CaptureIdempotencyKey.outbox(database: "productdb", table: table, outboxID: 42, op: "u", recordId: "7")
            == "ntf1:productdb:public.products:42:u:7")
        #expect(CaptureIdempotencyKey.poll(database: "productdb", table: table, version: "2026-01-02 03:04:05.5",
                                           op: "d", recordId: "[1,2]")
            == "poll1:productdb:public.products:2026-01-02 03:04:05.5:d:[1,2]")
        let long = String(repeating: "x", count: 80)
        let key = CaptureIdempotencyKey.outbox(database: "d", table: table, outboxID: 1, op: "c", recordId: long)
        #expect(key.hasPrefix("ntf1:d:public.products:1:c:sha256="))
        #expect(key.count == "ntf1:d:public.products:1:c:sha256=".count + 32)
    }

    @Test func cursorKeysRoundTripThroughTextArrays() {
        let cursor = PollCursor(version: "v", key: ["1", "a b", #"q"u\o"#, "x,y"])
        #expect(PollCursor(version: "v", keyArray: cursor.keyArray) == cursor)
        #expect(PollCursor.parseArray("{250}") == ["250"])
        #expect(PollCursor.parseArray(#"{1001,"a b"}"#) == ["1001", "a b"])
    }

    @Test func moneyTextUnderTheCLocaleBecomesNumericText() {
        #expect(CaptureTable.numericText(money: "$1,234.56") == "1234.56")
        #expect(CaptureTable.numericText(money: "-$0.50") == "-0.50")
    }
}
