import ArgumentParser
import CertyoCDC

/// The replication-slot sidecar's flags, shared by `run` and `doctor` (README "Replication slot sidecar").
struct SlotOptions: ParsableArguments {
    @Option(name: .customLong("slot-name"), help: "Replication slot to watch (CERTYO_SLOT_NAME). Default: certyo_slot")
    var slotName: String?
    @Option(name: .customLong("slot-monitor"), help: "Run the slot sidecar when PG_DSN is set, true/false (CERTYO_SLOT_MONITOR). Default: true")
    var slotMonitor: String?
    @Option(name: .customLong("slot-interval"), help: "Time between slot readings (CERTYO_SLOT_INTERVAL). Default: 15s")
    var slotInterval: String?
    @Option(name: .customLong("slot-retained-warning"), help: "Retained WAL for slot_retained_bytes_warning, bytes or 512MB/1GiB (CERTYO_SLOT_RETAINED_WARNING). Default: 1GiB")
    var retainedWarning: String?
    @Option(name: .customLong("slot-retained-critical"), help: "Retained WAL for slot_retained_bytes_critical (CERTYO_SLOT_RETAINED_CRITICAL). Default: 4GiB")
    var retainedCritical: String?
    @Option(name: .customLong("slot-inactive-warning"), help: "Inactive time for slot_inactive_warning (CERTYO_SLOT_INACTIVE_WARNING). Default: 5m")
    var inactiveWarning: String?
    @Option(name: .customLong("slot-inactive-critical"), help: "Inactive time for slot_inactive_critical (CERTYO_SLOT_INACTIVE_CRITICAL). Default: 30m")
    var inactiveCritical: String?
    @Option(name: .customLong("slot-reminder-interval"), help: "Repeat a lasting slot alert this often (CERTYO_SLOT_REMINDER_INTERVAL). Default: 15m")
    var reminderInterval: String?

    var flags: [Setting: String] {
        var flags: [Setting: String] = [:]
        let given: [(Setting, String?)] = [
            (.slotName, slotName), (.slotMonitorEnabled, slotMonitor), (.slotInterval, slotInterval),
            (.slotRetainedWarning, retainedWarning), (.slotRetainedCritical, retainedCritical),
            (.slotInactiveWarning, inactiveWarning), (.slotInactiveCritical, inactiveCritical),
            (.slotReminderInterval, reminderInterval),
        ]
        for case (let setting, let value?) in given { flags[setting] = value }
        return flags
    }
}
