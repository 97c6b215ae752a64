import CDCCore
import Logging
import PostgresBridge
import ServiceLifecycle
import Synchronization

/// Settings of `certyo-cdc listen`.
public struct ListenerConfiguration: Sendable {
    /// Where the outbox is (a session with the canonical output settings is opened on it).
    public var postgres: PostgresConfiguration
    /// The schema of the `_certyo_*` tables. Default: `public`.
    public var sql = CaptureSQL()
    /// Outbox entries read per round. Default: `5000`.
    public var pageSize = 5000
    /// Records per bulk call, bytes per call. Default: ``BatchingConfiguration`` (1000 records, 8 MiB).
    public var batching = BatchingConfiguration()
    /// Backoff and alert settings of the delivery loop. Default: ``DeliveryConfiguration``.
    public var delivery = DeliveryConfiguration()
    /// How long the listener waits for a `NOTIFY` before looking at the outbox anyway. Default: 5 s.
    public var wakeInterval: Duration = .seconds(5)
    /// Columns left out of every payload (`column` or `schema.table.column`). Default: none.
    public var excludedColumns: Set<String> = []

    public init(postgres: PostgresConfiguration) {
        self.postgres = postgres
    }
}

/// `certyo-cdc listen`: drains the outbox that the capture trigger fills in the same transaction as each change, in
/// outbox order, sends the changes to Certyo and deletes entries only once Certyo accepted them (HTTP 202) or they
/// were written to `_certyo_dead_letters`. `NOTIFY` only wakes it; a listener that was down catches up on start.
///
/// One listener drains at a time (a session advisory lock); a second one waits, and takes over when the first ends.
public final class OutboxListener: Service {
    private let configuration: ListenerConfiguration
    private let sink: any BatchSink
    private let logger: Logger
    /// Counters of this run.
    public let statistics: PipelineStatistics

    public init(configuration: ListenerConfiguration, sink: any BatchSink,
                statistics: PipelineStatistics = PipelineStatistics(), logger: Logger) {
        self.configuration = configuration
        self.sink = sink
        self.statistics = statistics
        self.logger = logger
    }

    public func run() async throws {
        try await runCaptureSessions(
            name: "listener", postgres: configuration.postgres, batching: configuration.batching,
            delivery: configuration.delivery, sql: configuration.sql, sink: sink, statistics: statistics,
            logger: logger,
            missingTable: { error in
                guard error.code == .queryFailed, error.sqlState == .undefinedTable else { return nil }
                return ConfigError(code: .missing, setting: "the outbox", message: "\(error)",
                                   fix: "run certyo-cdc setup listen --table <schema.table> first")
            },
            session: { connection, core, stop, resetAttempts in
                try await session(connection, core: core, stop: stop, resetAttempts: resetAttempts)
            }
        )
    }

    /// One session: take the drain lock, LISTEN, then drain and wait until stopped.
    private func session(_ connection: PostgresConnection, core: CaptureCore, stop: StopFlag,
                         resetAttempts: () -> Void) async throws {
        let lockKey = "certyo-cdc outbox \(configuration.sql.schema)"
        // Wait for the lock in short tries, so a stop request is seen.
        var waitLogged = false
        while try await connection.query("SELECT pg_try_advisory_lock(hashtext($1)) AS locked", [lockKey])
            .first?[column: "locked"] != "t"
        {
            if stop.isSet { return }
            if !waitLogged {
                waitLogged = true
                logger.info("another listener drains the outbox; waiting for it to stop")
            }
            _ = try await connection.notifications(timeout: .seconds(1))
        }
        try await connection.execute("LISTEN \(CaptureSQL.quote(CaptureSQL.channel))")
        let database = try await connection.query("SELECT current_database() AS db").first?[column: "db"] ?? ""
        logger.info("listener started: draining the outbox", metadata: ["postgres.target": "\(connection.target)"])
        resetAttempts()
        var tables: [QualifiedTableName: CaptureTable] = [:]
        while !stop.isSet, !Task.isCancelled {
            let rows = try await connection.query(
                """
                SELECT id, table_schema, table_name, op, row_text, old_row_text,
                       to_char(captured_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS captured_at
                FROM \(configuration.sql.outbox) ORDER BY id LIMIT $1::int4
                """,
                [String(configuration.pageSize)]
            )
            if rows.isEmpty {
                // Anything committed before LISTEN took effect was drained above; later commits notify.
                try await waitForNotification(connection, stop: stop)
                continue
            }
            statistics.update { $0.consumed += rows.count }
            var pending: [(id: Int64, item: CaptureCore.Item)] = []
            var done: [Int64] = []
            for row in rows {
                guard let id = row[column: "id"].flatMap({ Int64($0) }) else { continue }
                let name = QualifiedTableName(schema: row[column: "table_schema"] ?? "",
                                              table: row[column: "table_name"] ?? "")
                let entry = OutboxEntry(id: id, table: name, op: row[column: "op"] ?? "",
                                        rowText: row[column: "row_text"] ?? "",
                                        oldRowText: row[column: "old_row_text"],
                                        capturedAt: row[column: "captured_at"])
                var outcome = try await build(entry, tables: &tables, connection: connection, database: database,
                                              refresh: false)
                if case .deadLetter(let letter) = outcome, letter.reason == "unknown_column" {
                    outcome = try await build(entry, tables: &tables, connection: connection, database: database,
                                              refresh: true)
                }
                switch outcome {
                case .records(let items):
                    pending += items.map { (id: id, item: $0) }
                    if items.isEmpty { done.append(id) }
                case .deadLetter(let letter):
                    // Send what comes before it first, so entries leave the outbox in order.
                    guard await flush(&pending, &done, core: core, connection: connection) else { return }
                    guard await core.writeDeadLetter(letter) else { return }
                    done.append(id)
                }
            }
            guard await flush(&pending, &done, core: core, connection: connection) else { return }
            try await delete(done, connection: connection)
        }
    }

    /// Waits for a `NOTIFY` (or ``ListenerConfiguration/wakeInterval``), in short steps so a stop is seen.
    private func waitForNotification(_ connection: PostgresConnection, stop: StopFlag) async throws {
        let clock = ContinuousClock()
        let until = clock.now.advanced(by: configuration.wakeInterval)
        while !stop.isSet, !Task.isCancelled, clock.now < until {
            let step = min(.milliseconds(500), until - clock.now)
            if try await !connection.notifications(timeout: step).isEmpty { return }
        }
    }

    /// Sends `pending`, then deletes their entries (and `done`). Returns `false` when stopped first.
    private func flush(_ pending: inout [(id: Int64, item: CaptureCore.Item)], _ done: inout [Int64],
                       core: CaptureCore, connection: PostgresConnection) async -> Bool {
        guard !pending.isEmpty else { return true }
        guard await core.send(pending.map(\.item), lane: "outbox") else { return false }
        done += pending.map(\.id)
        pending.removeAll()
        do {
            try await delete(done, connection: connection)
            done.removeAll()
        } catch {
            // Left in the outbox: sent again (same idempotency keys) after the reconnect.
            logger.warning("deleting sent outbox entries failed; they will be replayed: \(error)")
        }
        return true
    }

    private func delete(_ ids: [Int64], connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        try await connection.execute(
            "DELETE FROM \(configuration.sql.outbox) WHERE id = ANY($1::int8[])",
            ["{" + ids.map(String.init).joined(separator: ",") + "}"]
        )
    }

    /// What one outbox entry becomes.
    enum EntryOutcome {
        case records([CaptureCore.Item])
        case deadLetter(CaptureDeadLetter)
    }

    struct OutboxEntry {
        var id: Int64
        var table: QualifiedTableName
        var op: String
        var rowText: String
        var oldRowText: String?
        var capturedAt: String?
    }

    /// The records of one outbox entry (two for an update that changed the primary key: a delete of the old key and
    /// an insert of the new row, as Debezium emits), or its dead letter.
    private func build(_ entry: OutboxEntry, tables: inout [QualifiedTableName: CaptureTable],
                       connection: PostgresConnection, database: String, refresh: Bool) async throws
        -> EntryOutcome
    {
        let source = CaptureDeadLetter(mode: "listen", table: entry.table, position: String(entry.id), reason: "",
                                       message: "", value: entry.rowText)
        func letter(_ reason: String, _ message: String) -> EntryOutcome {
            var letter = source
            letter.reason = reason
            letter.message = message
            return .deadLetter(letter)
        }
        if refresh || tables[entry.table] == nil {
            do {
                let catalog = try await connection.catalogTable(entry.table)
                tables[entry.table] = CaptureTable(catalog, excludedColumns: configuration.excludedColumns)
            } catch let error as PostgresError where error.code == .tableNotFound {
                return letter("unknown_table", "\(entry.table) no longer exists; outbox entry \(entry.id) cannot be "
                    + "mapped to its columns")
            }
        }
        guard let table = tables[entry.table] else { return .records([]) }
        guard !table.columns.primaryKey.isEmpty else {
            return letter("no_primary_key", "\(entry.table) has no primary key, so its rows have no record id "
                + "(fix: add a primary key, then run certyo-cdc setup listen again)")
        }
        guard let cells = table.cells(fromRecordText: entry.rowText) else {
            return letter("unknown_column", "outbox entry \(entry.id) of \(entry.table) does not have one value per "
                + "column of the table (it changed since the change was captured)")
        }
        do {
            let recordId = try table.canonicalizer.recordId(cells)
            func item(_ op: String, _ type: OperationType, _ payload: [UInt8], _ id: String) -> CaptureCore.Item {
                var itemSource = source
                itemSource.recordId = id
                itemSource.key = table.keyText(cells)
                return CaptureCore.Item(
                    record: CertyoRecord(
                        database: database, collection: "\(entry.table)", recordId: id, recordPayload: payload,
                        operationType: type, sourceTimestamp: entry.capturedAt,
                        idempotencyKey: CaptureIdempotencyKey.outbox(
                            database: database, table: TableName(entry.table), outboxID: entry.id, op: op,
                            recordId: id
                        )
                    ),
                    source: itemSource
                )
            }
            switch entry.op {
            case "c":
                return .records([item("c", .insert, try table.canonicalizer.payload(cells), recordId)])
            case "d":
                return .records([item("d", .delete, try table.canonicalizer.keyPayload(cells), recordId)])
            default:
                var items: [CaptureCore.Item] = []
                if let old = entry.oldRowText.flatMap(table.cells(fromRecordText:)) {
                    let oldId = try table.canonicalizer.recordId(old)
                    if oldId != recordId {
                        // A primary-key change: the old row is gone, a new one exists.
                        items.append(item("d", .delete, try table.canonicalizer.keyPayload(old), oldId))
                        items.append(item("c", .insert, try table.canonicalizer.payload(cells), recordId))
                        return .records(items)
                    }
                }
                return .records([item("u", .update, try table.canonicalizer.payload(cells), recordId)])
            }
        } catch {
            return letter("invalid_value", "outbox entry \(entry.id): \(error)")
        }
    }
}

/// Set once on graceful shutdown; runs a handler when set.
final class StopFlag: Sendable {
    private let state = Mutex<(set: Bool, handler: (@Sendable () -> Void)?)>((false, nil))

    var isSet: Bool { state.withLock { $0.set } }

    func set() {
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            state.set = true
            return state.handler
        }
        handler?()
    }

    /// Runs `handler` when the flag is set (at once if it already is).
    func onSet(_ handler: (@Sendable () -> Void)?) {
        let run = state.withLock { state -> Bool in
            state.handler = handler
            return state.set
        }
        if run { handler?() }
    }
}
