import CDCCore
import PostgresBridge

/// One change the listener or the poller will not send to Certyo, with why: the fields of a Kafka dead letter
/// (``DeadLetter``), with the PostgreSQL source in place of the Kafka coordinates.
public struct CaptureDeadLetter: Sendable, Hashable {
    /// `listen` or `poll`.
    public var mode: String
    /// The captured table.
    public var table: QualifiedTableName
    /// The outbox id (listen) or the row version (poll).
    public var position: String
    /// Machine-readable reason code (`invalid_value`, `invalid_record`, `idempotency_conflict`, ...).
    public var reason: String
    /// One line for a person: what, where, and the fix.
    public var message: String
    /// The HTTP status Certyo answered, when Certyo rejected the record.
    public var httpStatus: Int?
    /// Certyo's error code, when it rejected the record.
    public var errorCode: String?
    /// The record id, when it could be computed.
    public var recordId: String?
    /// The change's key as captured (primary-key text values).
    public var key: String?
    /// The row as captured (PostgreSQL record text).
    public var value: String?

    public init(mode: String, table: QualifiedTableName, position: String, reason: String, message: String,
                httpStatus: Int? = nil, errorCode: String? = nil, recordId: String? = nil, key: String? = nil,
                value: String? = nil) {
        self.mode = mode
        self.table = table
        self.position = position
        self.reason = reason
        self.message = message
        self.httpStatus = httpStatus
        self.errorCode = errorCode
        self.recordId = recordId
        self.key = key
        self.value = value
    }
}

/// Where the listener and the poller write dead letters: the `_certyo_dead_letters` table (created by
/// `certyo-cdc setup`). A change is removed from the outbox, or passed by the cursor, only after its row was written.
public struct PostgresDeadLetterSink: Sendable {
    private let connection: PostgresConnection
    private let sql: CaptureSQL

    public init(connection: PostgresConnection, sql: CaptureSQL = CaptureSQL()) {
        self.connection = connection
        self.sql = sql
    }

    /// Inserts one row.
    /// - Throws: A ``PostgresError`` when the insert fails (the caller retries).
    public func write(_ letter: CaptureDeadLetter) async throws {
        try await connection.execute(
            """
            INSERT INTO \(sql.deadLetters) (source_mode, source_table, source_position, reason, message, http_status,
                                            error_code, record_id, key, value)
            VALUES ($1, $2, $3, $4, $5, $6::int4, $7, $8, $9, $10)
            """,
            [letter.mode, "\(letter.table)", letter.position, letter.reason, letter.message,
             letter.httpStatus.map(String.init), letter.errorCode, letter.recordId, letter.key, letter.value]
        )
    }
}
