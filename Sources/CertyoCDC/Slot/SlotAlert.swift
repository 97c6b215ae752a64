import Logging
import PostgresBridge

/// What the slot sidecar saw at one tick: the slot's row, no slot, or no answer from PostgreSQL.
public enum SlotObservation: Sendable, Hashable {
    /// The slot exists; its state as read from `pg_replication_slots`.
    case present(ReplicationSlotStatus)
    /// PostgreSQL answered and has no slot of the watched name.
    case missing
    /// PostgreSQL could not be asked: `target` is `host:port/database` (never a password), `reason` libpq's or the
    /// server's message.
    case unreachable(target: String, reason: String)
}

/// One alert line of the slot sidecar: a stable event name, a log level and `key=value` figures.
///
/// The rendered line is `<event> slot=<slot> <key>=<value> ...`, e.g.
/// `slot_retained_bytes_warning slot=certyo_slot retained_bytes=1610612736 threshold=1073741824`. Values with spaces
/// or quotes are written in double quotes with `\"` and `\\` escaped. The README's "Alert rules" lists every event.
public struct SlotAlert: Sendable, Hashable, CustomStringConvertible {
    /// One `key=value` figure of the line.
    public struct Field: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The event name, e.g. `slot_retained_bytes_critical` or `slot_missing_cleared`.
    public var event: String
    /// The level the line is logged at.
    public var level: Logger.Level
    /// The watched slot's name.
    public var slot: String
    /// The figures after `slot=`, in order.
    public var fields: [Field]

    public init(event: String, level: Logger.Level, slot: String, fields: [Field]) {
        self.event = event
        self.level = level
        self.slot = slot
        self.fields = fields
    }

    /// The value of the figure `key`, if the line has it.
    public subscript(key: String) -> String? {
        fields.first { $0.key == key }?.value
    }

    /// Whether this line repeats a state that still lasts (`reminder=true`).
    public var isReminder: Bool { self["reminder"] == "true" }

    /// The line as logged.
    public var description: String {
        ([event, "slot=\(Self.quoted(slot))"] + fields.map { "\($0.key)=\(Self.quoted($0.value))" })
            .joined(separator: " ")
    }

    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && !value.contains { $0 == " " || $0 == "\"" || $0 == "\\" || $0 == "=" || $0.isNewline }
        if plain { return value }
        var escaped = ""
        for character in value {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n", "\r": escaped += " "
            default: escaped.append(character)
            }
        }
        return "\"\(escaped)\""
    }
}
