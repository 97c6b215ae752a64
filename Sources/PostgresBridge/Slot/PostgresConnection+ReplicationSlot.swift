/// One reading of a replication slot from `pg_replication_slots`, with the WAL figures computed on the server in
/// the same statement (one snapshot).
public struct ReplicationSlotStatus: Sendable, Hashable {
    /// `pg_replication_slots.wal_status`: whether the WAL the slot needs is still there.
    public struct WALStatus: Hashable, Sendable, CustomStringConvertible {
        /// The text PostgreSQL reports: `reserved`, `extended`, `unreserved` or `lost`.
        public let rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// Within `max_wal_size`.
        public static let reserved = WALStatus(rawValue: "reserved")
        /// Over `max_wal_size`, kept by the slot (or `wal_keep_size`) within `max_slot_wal_keep_size`.
        public static let extended = WALStatus(rawValue: "extended")
        /// WAL the slot needs will be removed at the next checkpoint unless the slot catches up.
        public static let unreserved = WALStatus(rawValue: "unreserved")
        /// WAL the slot needs was removed: the slot can no longer be used and changes are lost.
        public static let lost = WALStatus(rawValue: "lost")

        /// Every status PostgreSQL 13–16 reports, in order of severity.
        public static let all: [WALStatus] = [.reserved, .extended, .unreserved, .lost]

        public var description: String { rawValue }
    }

    /// The slot's name.
    public var name: String
    /// `plugin` (e.g. `pgoutput`), `nil` for a physical slot.
    public var plugin: String?
    /// `slot_type`: `logical` or `physical`.
    public var slotType: String
    /// `database`, `nil` for a physical slot.
    public var database: String?
    /// `active`: whether a consumer (Debezium's walsender) is streaming from the slot now.
    public var isActive: Bool
    /// `wal_status`; `nil` when PostgreSQL reports none (a slot that never reserved WAL).
    public var walStatus: WALStatus?
    /// `safe_wal_size`: bytes that can still be written before the slot is in danger of losing WAL; `nil` when
    /// `max_slot_wal_keep_size` is `-1` (unlimited) or the slot is lost.
    public var safeWALSize: Int64?
    /// WAL held for the slot: current WAL position minus `restart_lsn`; `nil` when `restart_lsn` is `NULL`.
    public var retainedBytes: Int64?
    /// Current WAL position minus `confirmed_flush_lsn`: what the consumer has not confirmed yet; `nil` for a
    /// physical slot.
    public var flushLagBytes: Int64?
    /// `age(catalog_xmin)` in transactions: how long the slot holds back catalog vacuum; `nil` when `NULL`.
    public var catalogXminAge: Int64?

    public init(
        name: String,
        plugin: String? = "pgoutput",
        slotType: String = "logical",
        database: String? = nil,
        isActive: Bool,
        walStatus: WALStatus?,
        safeWALSize: Int64? = nil,
        retainedBytes: Int64?,
        flushLagBytes: Int64? = nil,
        catalogXminAge: Int64? = nil
    ) {
        self.name = name
        self.plugin = plugin
        self.slotType = slotType
        self.database = database
        self.isActive = isActive
        self.walStatus = walStatus
        self.safeWALSize = safeWALSize
        self.retainedBytes = retainedBytes
        self.flushLagBytes = flushLagBytes
        self.catalogXminAge = catalogXminAge
    }
}

extension PostgresConnection {
    /// One statement: the server's WAL position (the replay position on a standby) and the slot's row, if any.
    /// Always one row: the slot columns are `NULL` when there is no such slot.
    static let replicationSlotSQL = """
        SELECT s.slot_name::text AS slot_name,
               s.plugin::text AS plugin,
               s.slot_type AS slot_type,
               s.database::text AS database,
               s.active AS active,
               s.wal_status AS wal_status,
               s.safe_wal_size AS safe_wal_size,
               pg_catalog.pg_wal_lsn_diff(w.lsn, s.restart_lsn)::int8 AS retained_bytes,
               pg_catalog.pg_wal_lsn_diff(w.lsn, s.confirmed_flush_lsn)::int8 AS flush_lag_bytes,
               pg_catalog.age(s.catalog_xmin)::int8 AS catalog_xmin_age
        FROM (SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
                          ELSE pg_catalog.pg_current_wal_lsn() END AS lsn) w
        LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = $1
        """

    /// Reads one replication slot's state and the WAL it holds.
    ///
    /// - Parameter name: The slot's name, matched exactly.
    /// - Returns: The slot's state, or `nil` when no slot of that name exists.
    /// - Throws: A ``PostgresError`` as ``query(_:_:)`` throws it (connection lost, server shutting down, ...), or
    ///   ``PostgresError/Code/unexpectedResult`` when the server answers with something that is not a slot row.
    public func replicationSlot(named name: String) async throws -> ReplicationSlotStatus? {
        let rows: PostgresRows
        do {
            rows = try await query(Self.replicationSlotSQL, [name])
        } catch var error as PostgresError {
            error.operation = "cannot read replication slot \(name) on"
            throw error
        }
        guard let row = rows.first else {
            throw PostgresError(code: .unexpectedResult, operation: "cannot read replication slot \(name) on",
                                message: "the slot query returned no row", target: target)
        }
        guard let slotName = row[column: "slot_name"] else { return nil }
        return ReplicationSlotStatus(
            name: slotName,
            plugin: row[column: "plugin"],
            slotType: row[column: "slot_type"] ?? "logical",
            database: row[column: "database"],
            isActive: row[column: "active"] == "t",
            walStatus: row[column: "wal_status"].map(ReplicationSlotStatus.WALStatus.init(rawValue:)),
            safeWALSize: row[column: "safe_wal_size"].flatMap { Int64($0) },
            retainedBytes: row[column: "retained_bytes"].flatMap { Int64($0) },
            flushLagBytes: row[column: "flush_lag_bytes"].flatMap { Int64($0) },
            catalogXminAge: row[column: "catalog_xmin_age"].flatMap { Int64($0) }
        )
    }
}
