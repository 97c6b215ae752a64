import CertyoCDC
import Logging
import Testing

@Suite struct SlotSettingsTests {
    let minimal = ["CERTYO_API_KEY": "cty_SECRET_slot_tests", "CERTYO_TENANT_ID": "acme-corp"]

    func load(_ environment: [String: String], flags: [Setting: String] = [:]) throws -> CertyoCDCConfiguration {
        try CertyoCDCConfiguration.load(RawSettings(flags: flags, environment: minimal.merging(environment) { $1 }))
    }

    func failure(_ environment: [String: String]) -> ConfigError? {
        do {
            _ = try load(environment)
            return nil
        } catch {
            return error as? ConfigError
        }
    }

    @Test func defaults() throws {
        let configuration = try load([:])
        #expect(configuration.slotMonitorEnabled)
        #expect(configuration.slot.slotName == "certyo_slot")
        #expect(configuration.slot.interval == .seconds(15))
        #expect(configuration.slot.retainedBytesWarning == 1 << 30)
        #expect(configuration.slot.retainedBytesCritical == 4 << 30)
        #expect(configuration.slot.inactiveWarning == .seconds(300))
        #expect(configuration.slot.inactiveCritical == .seconds(1800))
        #expect(configuration.slot.reminderInterval == .seconds(900))
    }

    @Test func environmentAndFlags() throws {
        let configuration = try load([
            "CERTYO_SLOT_NAME": "other_slot", "CERTYO_SLOT_INTERVAL": "250ms", "CERTYO_SLOT_RETAINED_WARNING": "512MB",
            "CERTYO_SLOT_RETAINED_CRITICAL": "2GiB", "CERTYO_SLOT_INACTIVE_WARNING": "2m",
            "CERTYO_SLOT_INACTIVE_CRITICAL": "10m", "CERTYO_SLOT_REMINDER_INTERVAL": "30s",
            "CERTYO_SLOT_MONITOR": "false",
        ], flags: [.slotName: "flag_slot", .slotRetainedCritical: "3000000000"])
        #expect(configuration.slot.slotName == "flag_slot")
        #expect(configuration.slot.interval == .milliseconds(250))
        #expect(configuration.slot.retainedBytesWarning == 512 << 20)
        #expect(configuration.slot.retainedBytesCritical == 3_000_000_000)
        #expect(configuration.slot.inactiveWarning == .seconds(120))
        #expect(configuration.slot.inactiveCritical == .seconds(600))
        #expect(configuration.slot.reminderInterval == .seconds(30))
        #expect(!configuration.slotMonitorEnabled)
    }

    @Test func mistakesNameTheSettingAndTheFix() {
        let badName = failure(["CERTYO_SLOT_NAME": "Bad-Slot"])
        #expect(badName?.code == .invalid)
        #expect(badName?.setting == "--slot-name / CERTYO_SLOT_NAME")
        #expect(badName?.fix.contains("slot.name") == true)

        let badBytes = failure(["CERTYO_SLOT_RETAINED_WARNING": "lots"])
        #expect(badBytes?.setting == "--slot-retained-warning / CERTYO_SLOT_RETAINED_WARNING")
        #expect(badBytes?.fix.contains("1GiB") == true)

        let overflow = failure(["CERTYO_SLOT_RETAINED_CRITICAL": "99999999999TiB"])
        #expect(overflow?.message.contains("too large") == true)

        let inverted = failure(["CERTYO_SLOT_RETAINED_WARNING": "5GiB"])
        #expect(inverted?.code == .conflict)
        #expect(inverted?.setting.contains("CERTYO_SLOT_RETAINED_CRITICAL") == true)

        let invertedTime = failure(["CERTYO_SLOT_INACTIVE_CRITICAL": "1m"])
        #expect(invertedTime?.code == .conflict)

        #expect(failure(["CERTYO_SLOT_INTERVAL": "0"])?.setting == "--slot-interval / CERTYO_SLOT_INTERVAL")
        #expect(failure(["CERTYO_SLOT_MONITOR": "maybe"])?.setting == "--slot-monitor / CERTYO_SLOT_MONITOR")
        #expect(failure(["CERTYO_SLOT_REMINDER_INTERVAL": "0s"]) != nil)
    }

    @Test func alertLinesQuoteValuesWithSpaces() {
        let alert = SlotAlert(event: "slot_database_unreachable", level: .error, slot: "s",
                              fields: [.init("reason", #"say "no" \ now"#), .init("target", "h:1/db")])
        #expect(alert.description == #"slot_database_unreachable slot=s reason="say \"no\" \\ now" target=h:1/db"#)
    }
}
