// The replication-slot sidecar's and `doctor`'s settings (README "Replication slot sidecar" and "doctor").

import Foundation

extension Setting {
    public static let slotName = Setting("slot-name", "CERTYO_SLOT_NAME")
    public static let slotMonitorEnabled = Setting("slot-monitor", "CERTYO_SLOT_MONITOR")
    public static let slotInterval = Setting("slot-interval", "CERTYO_SLOT_INTERVAL")
    public static let slotRetainedWarning = Setting("slot-retained-warning", "CERTYO_SLOT_RETAINED_WARNING")
    public static let slotRetainedCritical = Setting("slot-retained-critical", "CERTYO_SLOT_RETAINED_CRITICAL")
    public static let slotInactiveWarning = Setting("slot-inactive-warning", "CERTYO_SLOT_INACTIVE_WARNING")
    public static let slotInactiveCritical = Setting("slot-inactive-critical", "CERTYO_SLOT_INACTIVE_CRITICAL")
    public static let slotReminderInterval = Setting("slot-reminder-interval", "CERTYO_SLOT_REMINDER_INTERVAL")
    /// `doctor` only: the Debezium publication (`publication.name`).
    public static let publicationName = Setting("publication", "CERTYO_PUBLICATION")
    /// `doctor` only: Debezium's `topic.prefix`; a table's topic is `<prefix>.<schema>.<table>`.
    public static let topicPrefix = Setting("topic-prefix", "CERTYO_TOPIC_PREFIX")

    /// Every slot sidecar setting, in README order.
    public static let slotSettings: [Setting] = [
        .slotName, .slotMonitorEnabled, .slotInterval, .slotRetainedWarning, .slotRetainedCritical,
        .slotInactiveWarning, .slotInactiveCritical, .slotReminderInterval,
    ]
}

extension SlotMonitor.Configuration {
    /// Resolves the sidecar's settings; unset ones keep their defaults.
    ///
    /// - Throws: A ``ConfigError`` naming the setting that is wrong and the fix, also when a warning threshold is
    ///   above its critical one.
    public static func load(_ raw: RawSettings) throws -> SlotMonitor.Configuration {
        var configuration = SlotMonitor.Configuration()
        if let name = raw.value(.slotName) {
            // PostgreSQL slot names: lower-case letters, digits and underscores, at most NAMEDATALEN-1 (63).
            guard name.range(of: "^[a-z0-9_]{1,63}$", options: .regularExpression) != nil else {
                throw ConfigError(code: .invalid, setting: Setting.slotName.name,
                                  message: "'\(name)' is not a replication slot name",
                                  fix: "give the connector's slot.name: lower-case letters, digits and _, e.g. certyo_slot")
            }
            configuration.slotName = name
        }
        if let value = raw.value(.slotInterval) {
            configuration.interval = try SettingParser.duration(value, .slotInterval)
            guard configuration.interval >= .milliseconds(10) else {
                throw ConfigError(code: .invalid, setting: Setting.slotInterval.name,
                                  message: "'\(value)' is shorter than 10ms", fix: "give an interval such as 15s")
            }
        }
        if let value = raw.value(.slotRetainedWarning) {
            configuration.retainedBytesWarning = try SettingParser.bytes(value, .slotRetainedWarning)
        }
        if let value = raw.value(.slotRetainedCritical) {
            configuration.retainedBytesCritical = try SettingParser.bytes(value, .slotRetainedCritical)
        }
        if let value = raw.value(.slotInactiveWarning) {
            configuration.inactiveWarning = try SettingParser.duration(value, .slotInactiveWarning)
        }
        if let value = raw.value(.slotInactiveCritical) {
            configuration.inactiveCritical = try SettingParser.duration(value, .slotInactiveCritical)
        }
        if let value = raw.value(.slotReminderInterval) {
            configuration.reminderInterval = try SettingParser.duration(value, .slotReminderInterval)
            guard configuration.reminderInterval > .zero else {
                throw ConfigError(code: .invalid, setting: Setting.slotReminderInterval.name,
                                  message: "the reminder interval is zero", fix: "give an interval such as 15m")
            }
        }
        guard configuration.retainedBytesWarning <= configuration.retainedBytesCritical else {
            throw ConfigError(code: .conflict,
                              setting: "\(Setting.slotRetainedWarning.name) and \(Setting.slotRetainedCritical.name)",
                              message: "the warning threshold is above the critical one",
                              fix: "make the warning threshold at most the critical one, e.g. 1GiB and 4GiB")
        }
        guard configuration.inactiveWarning <= configuration.inactiveCritical else {
            throw ConfigError(code: .conflict,
                              setting: "\(Setting.slotInactiveWarning.name) and \(Setting.slotInactiveCritical.name)",
                              message: "the warning threshold is above the critical one",
                              fix: "make the warning threshold at most the critical one, e.g. 5m and 30m")
        }
        return configuration
    }
}

extension SettingParser {
    /// A byte size: a whole number of bytes, or with a unit `kB`, `MB`, `GB`, `TB` (PostgreSQL's, powers of 1024)
    /// or `KiB`, `MiB`, `GiB`, `TiB`.
    static func bytes(_ raw: String, _ setting: Setting) throws -> Int64 {
        let units: [(String, Int64)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("kB", 1 << 10), ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("TB", 1 << 40), ("B", 1),
        ]
        var number = Substring(raw.trimmingSpaces())
        var scale: Int64 = 1
        for (suffix, factor) in units where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Int64(number.trimmingSpaces()), value >= 0 else {
            throw ConfigError(code: .invalid, setting: setting.name, message: "'\(raw)' is not a byte size",
                              fix: "give bytes such as 1073741824, or a size with a unit: 512MB, 1GiB, 4GB")
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow else {
            throw ConfigError(code: .invalid, setting: setting.name, message: "'\(raw)' is too large",
                              fix: "give a size below 8 EiB")
        }
        return product
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> Substring {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
