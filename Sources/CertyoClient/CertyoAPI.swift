/// Every fact about the Certyo wire protocol that the client relies on, in one place.
///
/// Part A of `certyo-api.md` is what the vendor documents; Part B is what we assume where the vendor is silent (the
/// contract our emulator implements). When the real service turns out to differ, change it here (and the emulator),
/// and nowhere else.
enum CertyoAPI {
    // MARK: Part A: documented by the vendor

    /// The header that carries the API key.
    static let apiKeyHeader = "X-API-Key"
    /// `POST`: ingest one record, `202 Accepted`.
    static let ingestPath = "/api/v1/records"
    /// `POST`: ingest up to ``maximumBulkRecords`` records, `202 Accepted`.
    static let bulkIngestPath = "/api/v1/records/bulk"
    /// `POST`: is this record anchored? `200 OK`.
    static let verifyPath = "/api/v1/verify/record"
    /// `GET`: query the stored versions of a record, `200 OK`.
    static let recordsPath = "/api/v1/records"
    /// The vendor's limit on records in one bulk call.
    static let maximumBulkRecords = 1000

    // MARK: Part B: assumed (the emulator's contract)

    /// Error bodies are `{"error":{"code":"...","message":"...","details":[...]}}`; these are the codes we act on.
    enum ErrorCode {
        static let invalidRecord = "invalid_record"
        static let batchTooLarge = "batch_too_large"
        static let payloadTooLarge = "payload_too_large"
    }

    /// `GET /api/v1/records` returns at most this many records a page.
    static let maximumRecordsLimit = 1000

    /// `Retry-After` is delta-seconds (also accepted: an HTTP date, RFC 9110 section 10.2.3).
    static let retryAfterHeader = "Retry-After"
}
