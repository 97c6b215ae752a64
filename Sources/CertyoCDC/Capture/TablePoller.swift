import CDCCore
import Logging
import PostgresBridge
import ServiceLifecycle
import Synchronization

/// Settings of `certyo-cdc poll`.
public struct PollerConfiguration: Sendable {
    /// Where the table is (a session with the canonical output settings is opened on it).
    public var postgres: PostgresConfiguration
    /// The polled table.
    public var table: QualifiedTableName
    /// The row's version column, set on every insert and update (`updated_at`, `timestamp` or `timestamptz`).
    /// Default: `updated_at`.
    public var versionColumn = "updated_at"
    /// A soft-delete column: a row where it is not NULL is sent as a `delete` with its key. Default: none.
    public var deletedColumn: String?
    /// The schema of the `_certyo_*` tables. Default: `public`.
    public var sql = CaptureSQL()
    /// Rows read per query. Default: `1000`.
    public var pageSize = 1000
    /// How long the poller waits after a page that was not full. Default: 1 s.
    public var interval: Duration = .seconds(1)
    /// Rows are read only below the watermark: the start of the oldest transaction still open in the database, minus
    /// this margin (clock steps, a version set by a client clock). Default: 2 s.
    public var overlap: Duration = .seconds(2)
    /// Records per bulk call, bytes per call. Default: ``BatchingConfiguration`` (1000 records, 8 MiB).
    public var batching = BatchingConfiguration()
    /// Backoff and alert settings of the delivery loop. Default: ``DeliveryConfiguration``.
    public var delivery = DeliveryConfiguration()
    /// Columns left out of every payload (`column` or `schema.table.column`). Default: none.
    public var excludedColumns: Set<String> = []

    public init(postgres: PostgresConfiguration, table: QualifiedTableName) {
        self.postgres = postgres
        self.table = table
    }
}

/// `certyo-cdc poll`: reads a table in keyset order on `(version column, primary key)` from the cursor stored in
/// `_certyo_sync_cursors`, sends the rows to Certyo and advances the cursor only once Certyo accepted them (HTTP 202)
/// or they were written to `_certyo_dead_letters`.
///
/// Rows committed late with an earlier version are not missed: each page reads only rows whose version lies below a
/// watermark taken *before* the page's snapshot, the start of the oldest transaction still open in the database
/// (minus ``PollerConfiguration/overlap``). A transaction open at that moment writes versions at or after its start,
/// so no row can later appear below the watermark. Hard deletes are not seen (use a soft-delete column).
public final class TablePoller: Service {
    private let configuration: PollerConfiguration
    private let sink: any BatchSink
    private let logger: Logger
    /// Counters of this run.
    public let statistics: PipelineStatistics
    /// Completed polling rounds (a page read and handled, or found empty); for tests and progress.
    public var rounds: Int { roundCounter.load(ordering: .relaxed) }
    private let roundCounter = Atomic<Int>(0)

    public init(configuration: PollerConfiguration, sink: any BatchSink,
                statistics: PipelineStatistics = PipelineStatistics(), logger: Logger) {
        self.configuration = configuration
        self.sink = sink
        self.statistics = statistics
        self.logger = logger
    }

    private var source: String { "\(configuration.table):\(configuration.versionColumn)" }

    public func run() async throws {
        try await runCaptureSessions(
            name: "poller", postgres: configuration.postgres, batching: configuration.batching,
            delivery: configuration.delivery, sql: configuration.sql, sink: sink, statistics: statistics,
            logger: logger,
            missingTable: { error in
                guard error.code == .tableNotFound || error.sqlState == .undefinedTable else { return nil }
                return ConfigError(code: .missing, setting: "--table / CERTYO_POLL_TABLE", message: "\(error)",
                                   fix: "check the table name, and run certyo-cdc setup poll first")
            },
            session: { connection, core, stop, resetAttempts in
                try await session(connection, core: core, stop: stop, resetAttempts: resetAttempts)
            }
        )
    }

    private func session(_ connection: PostgresConnection, core: CaptureCore, stop: StopFlag,
                         resetAttempts: () -> Void) async throws {
        let catalog = try await connection.catalogTable(configuration.table)
        let table = CaptureTable(catalog, excludedColumns: configuration.excludedColumns)
        let plan = try PollPlan(table: table, catalog: catalog, configuration: configuration)
        let database = try await connection.query("SELECT current_database() AS db").first?[column: "db"] ?? ""
        var cursor = try await connection.query(
            "SELECT last_version, last_key FROM \(configuration.sql.cursors) WHERE source = $1", [source]
        ).first.map { row in
            PollCursor(version: row[column: "last_version"] ?? "", keyArray: row[column: "last_key"] ?? "{}")
        }
        logger.info("poller started", metadata: [
            "capture.table": "\(configuration.table)", "capture.cursor": "\(cursor?.version ?? "(start)")",
        ])
        resetAttempts()
        var warnedHidden = false
        while !stop.isSet, !Task.isCancelled {
            // The watermark first, in its own statement: the page's snapshot is taken after it.
            let horizon = try await connection.query(plan.watermarkSQL, [Self.interval(configuration.overlap)]).first
            let watermark = horizon?[column: "watermark"] ?? ""
            if horizon?[column: "hidden"] != "0", !warnedHidden {
                warnedHidden = true
                logger.warning(
                    "poll_watermark_blind: this role cannot see every session's transaction start in pg_stat_activity, so a transaction committing later than \(configuration.overlap) after it wrote may be missed; fix: GRANT pg_read_all_stats TO the poller's role"
                )
            }
            let parameters = [watermark] + (cursor.map { [$0.version] + $0.key } ?? [])
            let rows = try await connection.query(cursor == nil ? plan.firstPageSQL : plan.nextPageSQL, parameters)
            statistics.update { $0.consumed += rows.count }
            var items: [CaptureCore.Item] = []
            var letters: [CaptureDeadLetter] = []
            for row in rows {
                var cells: [String: String?] = [:]
                for (index, column) in table.columns.columns.enumerated() {
                    cells.updateValue(row[index], forKey: column.name)
                }
                let version = row[table.columns.columns.count] ?? ""
                switch build(cells, version: version, table: table, database: database) {
                case .record(let item): items.append(item)
                case .deadLetter(let letter): letters.append(letter)
                }
            }
            // Dead letters first (they send nothing), then the records in order; the cursor moves after both.
            for letter in letters {
                guard await core.writeDeadLetter(letter) else { return }
            }
            guard await core.send(items, lane: "\(configuration.table)") else { return }
            if let last = rows.last {
                let next = PollCursor(version: last[table.columns.columns.count] ?? "",
                                      key: plan.keyColumns.map { last[column: "__certyo_key_\($0)"] ?? "" })
                try await connection.execute(
                    """
                    INSERT INTO \(configuration.sql.cursors) (source, last_version, last_key, updated_at)
                    VALUES ($1, $2, $3::text[], now())
                    ON CONFLICT (source) DO UPDATE
                        SET last_version = EXCLUDED.last_version, last_key = EXCLUDED.last_key, updated_at = now()
                    """,
                    [source, next.version, next.keyArray]
                )
                cursor = next
            }
            roundCounter.add(1, ordering: .relaxed)
            if rows.count < configuration.pageSize {
                await pause(stop: stop)
            }
        }
    }

    private func pause(stop: StopFlag) async {
        let clock = ContinuousClock()
        let until = clock.now.advanced(by: configuration.interval)
        while !stop.isSet, !Task.isCancelled, clock.now < until {
            try? await Task.sleep(for: min(.milliseconds(100), until - clock.now))
        }
    }

    private func build(_ cells: [String: String?], version: String, table: CaptureTable, database: String)
        -> RowOutcome
    {
        var source = CaptureDeadLetter(mode: "poll", table: configuration.table, position: version, reason: "",
                                       message: "", key: table.keyText(cells))
        do {
            let recordId = try table.canonicalizer.recordId(cells)
            source.recordId = recordId
            let deleted = configuration.deletedColumn.map { (cells[$0] ?? nil) != nil } ?? false
            let payload = deleted ? try table.canonicalizer.keyPayload(cells) : try table.canonicalizer.payload(cells)
            let op = deleted ? "d" : "u"
            return .record(CaptureCore.Item(
                record: CertyoRecord(
                    database: database, collection: "\(configuration.table)", recordId: recordId,
                    recordPayload: payload, operationType: deleted ? .delete : .upsert, sourceTimestamp: nil,
                    idempotencyKey: CaptureIdempotencyKey.poll(
                        database: database, table: TableName(configuration.table), version: version, op: op,
                        recordId: recordId
                    )
                ),
                source: source
            ))
        } catch {
            source.reason = "invalid_value"
            source.message = "\(configuration.table) row \(source.key ?? "") at \(version): \(error)"
            return .deadLetter(source)
        }
    }

    enum RowOutcome {
        case record(CaptureCore.Item)
        case deadLetter(CaptureDeadLetter)
    }

    /// `2.000000 seconds` as a PostgreSQL interval literal.
    static func interval(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return "\(seconds) seconds \(attoseconds / 1_000_000_000_000) microseconds"
    }
}

/// Where the poller stands: the version and primary key of the last row it sent.
struct PollCursor: Sendable, Hashable {
    var version: String
    var key: [String]

    init(version: String, key: [String]) {
        self.version = version
        self.key = key
    }

    /// From the stored `text[]` output, e.g. `{1,"a b"}`.
    init(version: String, keyArray: String) {
        self.version = version
        self.key = PollCursor.parseArray(keyArray)
    }

    /// As a `text[]` literal.
    var keyArray: String {
        "{" + key.map { "\"" + $0.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
    }

    /// Parses a one-dimensional `text[]` output without NULLs.
    static func parseArray(_ text: String) -> [String] {
        var values: [String] = []
        var current = ""
        var inQuotes = false
        var escaped = false
        var started = false
        for character in text.dropFirst().dropLast() {
            if escaped {
                current.append(character)
                escaped = false
            } else if inQuotes {
                if character == "\\" { escaped = true } else if character == "\"" { inQuotes = false } else {
                    current.append(character)
                }
            } else if character == "\"" {
                inQuotes = true
                started = true
            } else if character == "," {
                values.append(current)
                current = ""
                started = false
            } else {
                current.append(character)
                started = true
            }
        }
        if started || !current.isEmpty || !values.isEmpty { values.append(current) }
        return values
    }
}

/// The poller's SQL for one table.
struct PollPlan: Sendable {
    var keyColumns: [String]
    var watermarkSQL: String
    var firstPageSQL: String
    var nextPageSQL: String

    init(table: CaptureTable, catalog: CatalogTable, configuration: PollerConfiguration) throws {
        let name = configuration.table
        guard let version = catalog.column(named: configuration.versionColumn) else {
            throw ConfigError(code: .invalid, setting: "--column / CERTYO_POLL_COLUMN",
                              message: "\(name) has no column \(configuration.versionColumn)",
                              fix: "name the column every insert and update sets, e.g. updated_at")
        }
        guard version.typeName.hasPrefix("timestamp") else {
            throw ConfigError(code: .invalid, setting: "--column / CERTYO_POLL_COLUMN",
                              message: "\(name).\(configuration.versionColumn) is \(version.typeName), not a timestamp",
                              fix: "name a timestamp or timestamptz column that every insert and update sets")
        }
        if let deleted = configuration.deletedColumn, catalog.column(named: deleted) == nil {
            throw ConfigError(code: .invalid, setting: "--deleted-column / CERTYO_POLL_DELETED_COLUMN",
                              message: "\(name) has no column \(deleted)",
                              fix: "name the soft-delete column (e.g. deleted_at), or leave the setting out")
        }
        let key = catalog.primaryKey
        guard !key.isEmpty else {
            throw ConfigError(code: .invalid, setting: "--table / CERTYO_POLL_TABLE",
                              message: "\(name) has no primary key, so its rows have no record id",
                              fix: "add a primary key to the table")
        }
        keyColumns = key
        let quote = CaptureSQL.quote as (String) -> String
        var select = table.columns.columns.map { column -> String in
            table.moneyColumns.contains(column.name)
                ? "\(quote(column.name))::numeric AS \(quote(column.name))" : quote(column.name)
        }
        select.append("\(quote(version.name))::text AS \"__certyo_version\"")
        select += key.map { "\(quote($0))::text AS \(quote("__certyo_key_" + $0))" }
        let order = ([version.name] + key).map(quote).joined(separator: ", ")
        let typeOf = { (column: String) in catalog.column(named: column)?.typeName ?? "text" }
        let cursorTuple = ([version.name] + key).enumerated()
            .map { "$\($0.offset + 2)::\(typeOf($0.element))" }.joined(separator: ", ")
        let base = "SELECT \(select.joined(separator: ", ")) FROM \(CaptureSQL.quote(name)) "
            + "WHERE \(quote(version.name)) < $1::timestamptz"
        firstPageSQL = base + " ORDER BY \(order) LIMIT \(configuration.pageSize)"
        nextPageSQL = base + " AND (\(order)) > (\(cursorTuple)) ORDER BY \(order) LIMIT \(configuration.pageSize)"
        // The oldest open transaction in this database (another session's), or now; minus the overlap.
        watermarkSQL = """
            SELECT (least(now(), (SELECT min(xact_start) FROM pg_catalog.pg_stat_activity
                                   WHERE datname = current_database() AND pid <> pg_backend_pid()
                                     AND xact_start IS NOT NULL))
                    - $1::interval)::text AS watermark,
                   (SELECT count(*) FROM pg_catalog.pg_stat_activity
                     WHERE datname = current_database() AND backend_type = 'client backend' AND state IS NULL) AS hidden
            """
    }
}
