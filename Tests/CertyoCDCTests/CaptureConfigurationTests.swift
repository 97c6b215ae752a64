import CDCCore
@testable import CertyoCDC
import Testing

@Suite struct CaptureConfigurationTests {
    let environment = ["CERTYO_API_KEY": "cty_SECRET_do_not_print_1234", "CERTYO_TENANT_ID": "acme-corp",
                       "PG_DSN": "postgresql://cdc:pg-SECRET-pw@db:5432/productdb"]

    @Test func tableNamesDefaultToPublicAndRejectWhatIsNotATable() throws {
        #expect("\(try CaptureSettings.table("products", setting: .pollTable))" == "public.products")
        #expect("\(try CaptureSettings.table("sales.Orders", setting: .pollTable))" == "sales.Orders")
        for bad in ["", "a.b.c", ".x", "x."] {
            let error = try #require(throws: ConfigError.self) { try CaptureSettings.table(bad, setting: .pollTable) }
            #expect(error.setting == Setting.pollTable.name)
            #expect(error.fix.contains("schema.table"))
        }
    }

    @Test func pollerSettingsComeFromFlagsAndTheEnvironment() throws {
        let raw = RawSettings(
            flags: [.pollTable: "public.items", .pollDeletedColumn: "deleted_at", .pollOverlap: "500ms"],
            environment: environment.merging(["CERTYO_POLL_COLUMN": "changed_at", "CERTYO_BATCH_MAX_RECORDS": "250"]) {
                $1
            }
        )
        let base = try CertyoCDCConfiguration.load(raw)
        let poller = try CaptureSettings.poller(raw, base: base)
        #expect("\(poller.table)" == "public.items")
        #expect(poller.versionColumn == "changed_at")
        #expect(poller.deletedColumn == "deleted_at")
        #expect(poller.overlap == .milliseconds(500))
        #expect(poller.interval == .seconds(1))
        #expect(poller.batching.maxRecords == 250, "the batching limits of certyo-cdc run")
        #expect(!"\(poller.postgres)".contains("pg-SECRET-pw"))
    }

    @Test func listenAndPollNeedPGDSNAndNameIt() throws {
        var environment = self.environment
        environment["PG_DSN"] = nil
        let raw = RawSettings(flags: [.pollTable: "t"], environment: environment)
        let base = try CertyoCDCConfiguration.load(raw)
        let error = try #require(throws: ConfigError.self) { try CaptureSettings.listener(raw, base: base) }
        #expect(error.code == .missing)
        #expect(error.setting.contains("PG_DSN"))
        let noTable = RawSettings(environment: self.environment)
        let missing = try #require(throws: ConfigError.self) { try CaptureSettings.poller(noTable, base: base) }
        #expect(missing.setting.contains("CERTYO_POLL_TABLE"))
    }

    @Test func aBrokenDSNIsReportedWithoutItsPassword() throws {
        var environment = self.environment
        environment["PG_DSN"] = "host=db password=pg-SECRET-pw port=notaport '"
        let raw = RawSettings(environment: environment)
        let base = try CertyoCDCConfiguration.load(raw)
        let error = try #require(throws: ConfigError.self) { try CaptureSettings.listener(raw, base: base) }
        #expect(error.setting.contains("PG_DSN"))
        #expect(!"\(error)".contains("pg-SECRET-pw"))
    }
}
