import Logging
import PostgresBridge

/// The slot sidecar's alert state machine: fed one ``SlotObservation`` per tick, it returns the alert lines to log.
///
/// Pure: no I/O, no clock of its own (the caller passes `now`), so every transition is unit tested.
///
/// Five conditions are tracked independently, each with hysteresis: a line when it is entered (or changes
/// severity), one `_cleared` line when it ends, and a reminder (`reminder=true`) every
/// ``SlotMonitor/Configuration/reminderInterval`` while it lasts.
///
/// | condition | entered as | cleared as |
/// |---|---|---|
/// | retained WAL | `slot_retained_bytes_warning` / `_critical` | `slot_retained_bytes_cleared` |
/// | inactive time | `slot_inactive_warning` / `_critical` | `slot_inactive_cleared` |
/// | `wal_status` | `slot_wal_status_unreserved` / `slot_wal_status_lost` | `slot_wal_status_cleared` |
/// | no slot | `slot_missing` | `slot_missing_cleared` |
/// | no database | `slot_database_unreachable` | `slot_database_unreachable_cleared` |
///
/// While the database is unreachable the other conditions keep their state (nothing is known about them) and give
/// no reminders. When the slot goes missing, its retained/inactive/`wal_status` conditions end without a `_cleared`
/// line (`slot_missing` replaces them: nothing was fixed), and the inactive time starts again from zero.
public struct SlotHealth<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// The tracked conditions.
    enum Condition: Hashable, Sendable, CaseIterable {
        case retainedBytes, inactive, walStatus, missing, unreachable
    }

    enum Severity: Int, Hashable, Sendable, Comparable {
        case warning = 1, critical = 2

        static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// A condition that holds now.
    struct Ongoing: Sendable {
        var severity: Severity
        var enteredAt: Instant
        var lastLineAt: Instant
    }

    public let configuration: SlotMonitor.Configuration
    private var ongoing: [Condition: Ongoing] = [:]
    /// When the slot was first seen inactive by this process (PostgreSQL 15 has no `inactive_since`).
    private var inactiveSince: Instant?
    private var hasObserved = false

    public init(configuration: SlotMonitor.Configuration) {
        self.configuration = configuration
    }

    /// Takes one observation and returns the lines to log for it, in order.
    ///
    /// - Parameters:
    ///   - observation: What the sidecar read (or failed to read) at `now`.
    ///   - now: The observation's time; instants must not go backwards.
    /// - Returns: The alert lines this observation causes; empty when nothing changed and no reminder is due.
    public mutating func observe(_ observation: SlotObservation, at now: Instant) -> [SlotAlert] {
        hasObserved = true
        var alerts: [SlotAlert] = []
        switch observation {
        case .unreachable(let target, let reason):
            let fields = [SlotAlert.Field("target", target), SlotAlert.Field("reason", reason)]
            update(.unreachable, to: .critical, fields: fields, at: now, into: &alerts)

        case .missing:
            update(.unreachable, to: nil, fields: [], at: now, into: &alerts)
            // The slot's own conditions end silently: slot_missing replaces them.
            ongoing[.retainedBytes] = nil
            ongoing[.inactive] = nil
            ongoing[.walStatus] = nil
            inactiveSince = nil
            update(.missing, to: .critical, fields: [SlotAlert.Field("exists", "false")], at: now, into: &alerts)

        case .present(let status):
            update(.unreachable, to: nil, fields: [], at: now, into: &alerts)
            update(.missing, to: nil, fields: [SlotAlert.Field("exists", "true")], at: now, into: &alerts)

            let retained = status.retainedBytes
            let retainedSeverity = retained.flatMap {
                severity(of: $0, warning: configuration.retainedBytesWarning,
                         critical: configuration.retainedBytesCritical)
            }
            let retainedThreshold = retainedSeverity == .critical
                ? configuration.retainedBytesCritical : configuration.retainedBytesWarning
            update(.retainedBytes, to: retainedSeverity, fields: [
                SlotAlert.Field("retained_bytes", retained.map(String.init) ?? "null"),
                SlotAlert.Field("threshold", String(retainedThreshold)),
            ], at: now, into: &alerts)

            if status.isActive {
                inactiveSince = nil
            } else if inactiveSince == nil {
                inactiveSince = now
            }
            let inactiveFor = inactiveSince.map { $0.duration(to: now) } ?? .zero
            let inactiveSeverity = status.isActive ? nil : severity(
                of: inactiveFor, warning: configuration.inactiveWarning, critical: configuration.inactiveCritical)
            let inactiveThreshold = inactiveSeverity == .critical
                ? configuration.inactiveCritical : configuration.inactiveWarning
            update(.inactive, to: inactiveSeverity, fields: [
                SlotAlert.Field("inactive_seconds", String(Self.wholeSeconds(inactiveFor))),
                SlotAlert.Field("threshold", String(Self.wholeSeconds(inactiveThreshold))),
            ], at: now, into: &alerts)

            let walSeverity: Severity?
            if status.walStatus == .lost {
                walSeverity = .critical
            } else if status.walStatus == .unreserved {
                walSeverity = .warning
            } else {
                walSeverity = nil
            }
            update(.walStatus, to: walSeverity, fields: [
                SlotAlert.Field("wal_status", status.walStatus?.rawValue ?? "null"),
                SlotAlert.Field("threshold", ReplicationSlotStatus.WALStatus.extended.rawValue),
                SlotAlert.Field("safe_wal_size", status.safeWALSize.map(String.init) ?? "null"),
            ], at: now, into: &alerts)
        }
        return alerts
    }

    /// How long the slot has been inactive as this process saw it at `now`: zero while it is active, missing or not
    /// yet read.
    public func inactiveDuration(at now: Instant) -> Duration {
        inactiveSince.map { $0.duration(to: now) } ?? .zero
    }

    /// What `/ready` should say about the slot after the latest observation.
    public var readiness: Readiness.SlotState {
        guard hasObserved else { return .notWatched }
        if ongoing[.unreachable] != nil { return .databaseUnreachable }
        if ongoing[.missing] != nil { return .missing }
        if ongoing[.walStatus]?.severity == .critical { return .lost }
        return ongoing.isEmpty ? .healthy : .degraded
    }

    // MARK: - Transitions

    private func severity<Value: Comparable>(of value: Value, warning: Value, critical: Value) -> Severity? {
        if value >= critical { return .critical }
        if value >= warning { return .warning }
        return nil
    }

    /// Moves `condition` to `severity` (`nil`: it does not hold) and appends the line the move calls for.
    private mutating func update(
        _ condition: Condition,
        to severity: Severity?,
        fields: [SlotAlert.Field],
        at now: Instant,
        into alerts: inout [SlotAlert]
    ) {
        guard var current = ongoing[condition] else {
            guard let severity else { return }
            ongoing[condition] = Ongoing(severity: severity, enteredAt: now, lastLineAt: now)
            alerts.append(alert(condition, severity, fields))
            return
        }
        let lasted = SlotAlert.Field("duration_seconds", String(Self.wholeSeconds(current.enteredAt.duration(to: now))))
        guard let severity else {
            ongoing[condition] = nil
            alerts.append(SlotAlert(event: Self.eventPrefix(condition) + "_cleared", level: .notice,
                                    slot: configuration.slotName, fields: fields + [lasted]))
            return
        }
        if severity != current.severity {
            current.severity = severity
            current.lastLineAt = now
            ongoing[condition] = current
            alerts.append(alert(condition, severity, fields))
        } else if current.lastLineAt.duration(to: now) >= configuration.reminderInterval {
            current.lastLineAt = now
            ongoing[condition] = current
            alerts.append(alert(condition, severity, fields + [SlotAlert.Field("reminder", "true"), lasted]))
        }
    }

    private func alert(_ condition: Condition, _ severity: Severity, _ fields: [SlotAlert.Field]) -> SlotAlert {
        let event: String
        let level: Logger.Level
        switch (condition, severity) {
        case (.walStatus, .warning): (event, level) = ("slot_wal_status_unreserved", .warning)
        case (.walStatus, .critical): (event, level) = ("slot_wal_status_lost", .critical)
        case (.missing, _): (event, level) = ("slot_missing", .critical)
        case (.unreachable, _): (event, level) = ("slot_database_unreachable", .error)
        case (_, .warning): (event, level) = (Self.eventPrefix(condition) + "_warning", .warning)
        case (_, .critical): (event, level) = (Self.eventPrefix(condition) + "_critical", .critical)
        }
        return SlotAlert(event: event, level: level, slot: configuration.slotName, fields: fields)
    }

    private static func eventPrefix(_ condition: Condition) -> String {
        switch condition {
        case .retainedBytes: return "slot_retained_bytes"
        case .inactive: return "slot_inactive"
        case .walStatus: return "slot_wal_status"
        case .missing: return "slot_missing"
        case .unreachable: return "slot_database_unreachable"
        }
    }

    static func wholeSeconds(_ duration: Duration) -> Int64 {
        duration.components.seconds
    }
}
