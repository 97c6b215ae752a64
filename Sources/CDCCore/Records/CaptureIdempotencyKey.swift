/// The deterministic `idempotencyKey`s of the paths without Kafka: derived from where the change is stored in
/// PostgreSQL, never from a clock, so a replay after a crash carries the key Certyo already saw.
///
/// Record ids longer than 64 bytes are replaced by `sha256=<first 32 hex digits>`, as in the Debezium keys.
public enum CaptureIdempotencyKey {
    /// A change the trigger recorded in the outbox (`certyo-cdc listen`):
    /// `ntf1:<database>:<schema.table>:<outbox id>:<op>:<recordId>`. The outbox id is unique per change and never
    /// reused, so the key names exactly one change.
    ///
    /// - Parameters:
    ///   - op: `c` insert, `u` update, `d` delete.
    public static func outbox(database: String, table: TableName, outboxID: Int64, op: String, recordId: String)
        -> String
    {
        IdempotencyKey.make(scheme: "ntf1", database: database, table: table, position: String(outboxID), op: op,
                            recordId: recordId)
    }

    /// A row version the poller read (`certyo-cdc poll`): `poll1:<database>:<schema.table>:<version>:<op>:<recordId>`,
    /// where `version` is the row's own version column (`updated_at`) as PostgreSQL prints it under the canonical
    /// session settings. Reading the same row version again gives the same key.
    ///
    /// - Parameters:
    ///   - op: `u` for a live row (sent as `upsert`), `d` for a soft-deleted one.
    public static func poll(database: String, table: TableName, version: String, op: String, recordId: String)
        -> String
    {
        IdempotencyKey.make(scheme: "poll1", database: database, table: table, position: version, op: op,
                            recordId: recordId)
    }
}
