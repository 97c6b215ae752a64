extension SlotMonitor {
    /// Which slot the sidecar watches, how often, and when it alerts.
    public struct Configuration: Sendable, Hashable {
        /// The replication slot to watch (Debezium's `slot.name`). Default: `certyo_slot`.
        public var slotName = "certyo_slot"
        /// Time between two readings. Default: 15 seconds.
        public var interval: Duration = .seconds(15)
        /// WAL held by the slot (current WAL position − `restart_lsn`) from which `slot_retained_bytes_warning`
        /// is logged. Default: 1 GiB.
        public var retainedBytesWarning: Int64 = 1 << 30
        /// WAL held by the slot from which `slot_retained_bytes_critical` is logged. Default: 4 GiB.
        public var retainedBytesCritical: Int64 = 4 << 30
        /// How long the slot may stay inactive (no consumer streaming) before `slot_inactive_warning`.
        /// Default: 5 minutes.
        public var inactiveWarning: Duration = .seconds(5 * 60)
        /// How long the slot may stay inactive before `slot_inactive_critical`. Default: 30 minutes.
        public var inactiveCritical: Duration = .seconds(30 * 60)
        /// How often an alert that still holds is logged again (`reminder=true`). Default: 15 minutes.
        public var reminderInterval: Duration = .seconds(15 * 60)
        /// The longest wait between two attempts while PostgreSQL is unreachable; the wait starts at ``interval``
        /// and doubles up to this. Default: 60 seconds (or ``interval`` when that is longer).
        public var maximumRetryInterval: Duration = .seconds(60)
        /// `statement_timeout` of the sidecar's session, so that a stuck server cannot stall the readings.
        /// Default: 10 seconds.
        public var statementTimeout: Duration = .seconds(10)

        /// The production defaults.
        public init() {}
    }
}
