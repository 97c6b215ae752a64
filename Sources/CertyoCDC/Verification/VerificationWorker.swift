import CDCCore
import CertyoClient
import Logging
import PostgresBridge
import ServiceLifecycle
import Synchronization

/// Writes Certyo's anchoring status of every captured row back to PostgreSQL (`certyo.record_status`), checking
/// each anchor's Merkle proof itself.
///
/// Each pass reads every row of the verified tables in primary-key order, `batchSize` rows a query, in a session
/// with the canonical text settings, and computes the row's canonical hash (the same code as `certyo-cdc prove`). A
/// row whose stored status is already `anchored` under that hash costs no API call. For the others the worker asks
/// `POST /api/v1/verify/record` for exactly that hash (at most ``Configuration/concurrency`` calls at a time) and
/// writes `pending`, `anchored` or `failed` — only where the hash or status changed, so a pass over settled rows
/// writes nothing. The status table is outside the publication: writing it produces no change event.
///
/// A PostgreSQL or Certyo outage ends the pass with one line and a retry after a backoff; it never stops the
/// process. 429 and 5xx answers are retried with the pipeline's ``RetryPolicy``.
public struct VerificationWorker<ClockType: Clock>: Service where ClockType.Duration == Duration {
    public typealias Configuration = VerificationConfiguration

    public let configuration: Configuration
    private let postgres: PostgresConfiguration
    private let client: CertyoClient
    private let clock: ClockType
    private let logger: Logger
    public let statistics: VerificationStatistics

    /// - Parameters:
    ///   - configuration: What to verify and how often.
    ///   - postgres: The captured database (`PG_DSN`); the worker sets the canonical session settings itself.
    ///   - client: The Certyo client.
    ///   - clock: Sleeps between passes and before retries.
    ///   - statistics: Counters for tests and metrics.
    ///   - logger: Receives one line per pass with changes, and one per outage.
    public init(
        configuration: Configuration, postgres: PostgresConfiguration, client: CertyoClient, clock: ClockType,
        statistics: VerificationStatistics = VerificationStatistics(), logger: Logger
    ) {
        self.configuration = configuration
        var postgres = postgres
        postgres.sessionSettings = PostgresConfiguration.SessionSetting.canonicalTextOutput
        postgres.applicationName = "certyo-cdc-verify"
        self.postgres = postgres
        self.client = client
        self.clock = clock
        self.statistics = statistics
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
    }

    private func loop() async {
        var connection: PostgresConnection?
        var failures = 0
        var statusTableReady = false
        while !Task.isCancelled {
            var delay = configuration.interval
            do {
                let current: PostgresConnection
                if let connection { current = connection } else {
                    current = try await PostgresConnection.connect(configuration: postgres, logger: logger)
                    connection = current
                }
                if !statusTableReady {
                    try await prepare(on: current)
                    statusTableReady = true
                }
                try await pass(on: current)
                if failures > 0 {
                    logger.notice("verification: recovered; passes resumed")
                }
                failures = 0
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                delay = configuration.retryPolicy.delay(forAttempt: failures)
                failures += 1
                statistics.recordFailure("\(error)")
                switch error {
                case let error as PostgresError:
                    logger.error("verification: PostgreSQL failed, pass abandoned; retrying in \(delay): \(error)")
                    if !error.isRetriable { statusTableReady = false }
                    await connection?.close()
                    connection = nil
                case let error as CertyoError where error.isFatal:
                    delay = max(delay, .seconds(30))
                    let message = "verification: Certyo refuses the API key or tenant, pass abandoned; retrying in "
                        + "\(delay): \(error); fix: check CERTYO_API_KEY / CERTYO_API_KEY_FILE and CERTYO_TENANT_ID"
                    logger.critical("\(message)")
                default:
                    logger.error("verification: pass failed; retrying in \(delay): \(error)")
                }
            }
            do {
                try await clock.sleep(for: delay)
            } catch {
                break
            }
        }
        await connection?.close()
    }

    private func prepare(on connection: PostgresConnection) async throws {
        let store = RecordStatusStore()
        try await store.prepare(on: connection)
        let publications = try await store.isPublished(on: connection)
        if !publications.isEmpty {
            let message = "verification: \(RecordStatusStore.qualifiedName) is in publication "
                + "\(publications.joined(separator: ", ")): its writes are captured; fix: ALTER PUBLICATION ... DROP TABLE "
                + "\(RecordStatusStore.qualifiedName) (or list tables instead of FOR ALL TABLES)"
            logger.warning("\(message)")
        }
    }

    /// One pass over every verified table.
    func pass(on connection: PostgresConnection) async throws {
        let tables: [TableName]
        if configuration.tables.isEmpty {
            tables = try await connection.query(
                "SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1 "
                    + "AND NOT (schemaname = 'certyo' AND tablename = 'record_status') ORDER BY 1, 2",
                [configuration.publication]
            ).compactMap { row -> TableName? in
                guard let schema = row[0], let table = row[1] else { return nil }
                return TableName(schema: schema, table: table)
            }
        } else {
            tables = configuration.tables
        }
        let database: String
        if let configured = configuration.database {
            database = configured
        } else {
            database = try await connection.query("SELECT current_database()::text").first?[0] ?? ""
        }
        var totals = PassCounts()
        for table in tables {
            try Task.checkCancellation()
            let counts = try await verify(table: table, database: database, on: connection)
            totals.add(counts)
        }
        statistics.recordPass(totals)
        if totals.written > 0 || totals.failedNow > 0 {
            let message = "verification: pass done: \(totals.rows) rows in \(tables.count) tables, "
                + "\(totals.verifyCalls) verify calls, \(totals.written) statuses written (\(totals.anchoredNow) "
                + "anchored, \(totals.pendingNow) pending, \(totals.failedNow) failed)"
            logger.info("\(message)")
        }
    }

    private func verify(table: TableName, database: String, on connection: PostgresConnection) async throws
        -> PassCounts
    {
        let reader = try await CanonicalRowReader(
            table: table, excludedColumns: configuration.excludedColumns, connection: connection
        )
        let store = RecordStatusStore()
        let source = RetryingCertyoProofSource(
            client: client,
            retrying: CertyoRetrying(
                policy: configuration.retryPolicy, maximumAttempts: nil, clock: clock, logger: logger,
                label: "verification"
            )
        )
        let collection = table.description
        let grace = Self.seconds(configuration.gracePeriod)
        var counts = PassCounts()
        var after: [String?]? = nil
        while true {
            let page = try await reader.page(after: after, limit: configuration.batchSize, on: connection)
            var rows: [CanonicalRowReader.Row] = []
            for cells in page {
                do {
                    rows.append(try reader.canonical(cells))
                } catch {
                    counts.unreadable += 1
                    logger.warning("verification: a row of \(table) cannot be read as a canonical row, skipped: \(error)")
                }
            }
            counts.rows += rows.count
            let stored = try await store.read(collection: collection, recordIds: rows.map(\.recordId), on: connection)
            let toCheck = rows.filter { row in
                guard let known = stored[row.recordId] else { return true }
                return !(known.recordHash == row.recordHash && known.status == .anchored)
            }
            let answers = try await Self.verifyAll(
                toCheck, concurrency: configuration.concurrency, source: source, database: database,
                collection: collection
            )
            counts.verifyCalls += toCheck.count
            var changes: [RecordStatus] = []
            for (row, answer) in zip(toCheck, answers) {
                let known = stored[row.recordId]
                let age = known?.recordHash == row.recordHash ? known?.ageSeconds ?? 0 : 0
                let status = Self.status(of: row, answer: answer, ageSeconds: age, graceSeconds: grace)
                if known?.recordHash != status.recordHash || known?.status != status.status {
                    changes.append(status)
                    switch status.status {
                    case .anchored: counts.anchoredNow += 1
                    case .failed: counts.failedNow += 1
                    default: counts.pendingNow += 1
                    }
                    if status.status == .failed {
                        logger.error(
                            "verification: \(collection) record \(row.recordId) failed: \(status.detail ?? "")"
                        )
                    }
                }
            }
            counts.written += try await store.write(collection: collection, changes, on: connection)
            guard page.count == configuration.batchSize, let last = page.last else { break }
            after = reader.keyColumnNames.map { last[$0] ?? nil }
        }
        return counts
    }

    /// The status a verify answer gives a row (`nil`: Certyo has no version with the row's hash).
    static func status(of row: CanonicalRowReader.Row, answer: VerifyResponse?, ageSeconds: Double,
                       graceSeconds: Double) -> RecordStatus
    {
        var status = RecordStatus(recordId: row.recordId, recordHash: row.recordHash, status: .pending)
        guard let answer else {
            if ageSeconds >= graceSeconds {
                status.status = .failed
                status.detail = "Certyo has no version with this hash \(Int(ageSeconds)) s after it was first seen: "
                    + "the row changed outside capture, or its change was never ingested"
            } else {
                status.detail = "not at Certyo yet (capture or ingest lag)"
            }
            return status
        }
        switch AnchorCheck.check(answer, recordHash: row.recordHash) {
        case .notAnchored:
            status.detail = "stored at Certyo, not anchored yet"
        case .rejected(let reason):
            status.status = .failed
            status.detail = "proof rejected: \(reason)"
        case .anchored(let root, let anchor):
            status.status = .anchored
            status.merkleRoot = root
            status.anchorTransaction = anchor.txHash
            status.anchorBlock = anchor.blockNumber
        }
        return status
    }

    /// Asks verify about every row, at most `concurrency` calls at a time; answers in input order.
    private static func verifyAll<Source: CertyoProofSource>(
        _ rows: [CanonicalRowReader.Row], concurrency: Int, source: Source, database: String, collection: String
    ) async throws -> [VerifyResponse?] {
        var answers = [VerifyResponse?](repeating: nil, count: rows.count)
        try await withThrowingTaskGroup(of: (Int, VerifyResponse?).self) { group in
            var next = 0
            var running = 0
            while next < rows.count || running > 0 {
                while next < rows.count, running < max(1, concurrency) {
                    let index = next
                    let row = rows[index]
                    group.addTask {
                        (index, try await source.verify(
                            database: database, collection: collection, recordId: row.recordId,
                            recordHash: row.recordHash))
                    }
                    next += 1
                    running += 1
                }
                guard let finished = try await group.next() else { break }
                answers[finished.0] = finished.1
                running -= 1
            }
        }
        return answers
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

/// What one pass did.
public struct PassCounts: Sendable, Hashable {
    /// Rows read and hashed.
    public var rows = 0
    /// Rows that could not be read as canonical rows (logged, skipped).
    public var unreadable = 0
    /// Verify calls made (rows not already anchored under their current hash).
    public var verifyCalls = 0
    /// Status rows inserted or changed.
    public var written = 0
    public var anchoredNow = 0
    public var pendingNow = 0
    public var failedNow = 0

    public init() {}

    mutating func add(_ other: PassCounts) {
        rows += other.rows
        unreadable += other.unreadable
        verifyCalls += other.verifyCalls
        written += other.written
        anchoredNow += other.anchoredNow
        pendingNow += other.pendingNow
        failedNow += other.failedNow
    }
}

/// The verification worker's counters, readable while it runs.
public final class VerificationStatistics: Sendable {
    public struct Snapshot: Sendable, Hashable {
        /// Passes completed.
        public var passes = 0
        /// The last completed pass's counts.
        public var lastPass = PassCounts()
        /// Passes abandoned because of an outage or a refusal.
        public var failures = 0
        /// The last abandoned pass's error (redacted like every error).
        public var lastError: String?
    }

    private let state = Mutex(Snapshot())
    private let metrics: PipelineMetrics?

    /// - Parameter metrics: Where passes, abandoned passes and rows marked `failed` are counted for `/metrics`.
    public init(metrics: PipelineMetrics? = nil) {
        self.metrics = metrics
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    func recordPass(_ counts: PassCounts) {
        state.withLock {
            $0.passes += 1
            $0.lastPass = counts
        }
        metrics?.verificationPassDone(failedRows: counts.failedNow)
    }

    func recordFailure(_ description: String) {
        state.withLock {
            $0.failures += 1
            $0.lastError = description
        }
        metrics?.verificationPassFailed()
    }
}

/// How the verification worker runs (`VerificationWorker.Configuration`). Every field has a production default.
public struct VerificationConfiguration: Sendable {
    /// Whether `certyo-cdc run` starts the worker. Default: `false`.
    public var enabled = false
    /// The pause between two passes. Default: `30 s`.
    public var interval: Duration = .seconds(30)
    /// Rows read per query and checked before their statuses are written. Default: `100`.
    public var batchSize = 100
    /// Verify calls in flight at once. Default: `4`.
    public var concurrency = 4
    /// How long a row's hash may stay unknown to Certyo (capture, batching and ingest lag) before its status
    /// becomes `failed`. Default: `15 min`.
    public var gracePeriod: Duration = .seconds(15 * 60)
    /// The tables to verify; empty means every table of ``publication``. Default: empty.
    public var tables: [TableName] = []
    /// The publication whose tables are verified when ``tables`` is empty. Default: `certyo_publication`.
    public var publication = "certyo_publication"
    /// Columns left out of the payload, as the pipeline leaves them out (`certyo_*` always are). Default: none.
    public var excludedColumns: Set<String> = []
    /// The `database` of the records at Certyo; `nil` for the connected database's name (what Debezium sends as
    /// `source.db`). Default: `nil`.
    public var database: String?
    /// Backoff for Certyo's 429/5xx answers and for outages. Default: ``RetryPolicy``'s defaults.
    public var retryPolicy = RetryPolicy()

    public init() {}
}
