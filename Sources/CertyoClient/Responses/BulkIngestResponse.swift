/// The `202 Accepted` answer to `POST /api/v1/records/bulk`.
public struct BulkIngestResponse: Sendable, Hashable, Decodable {
    /// What Certyo did with one record of the call.
    public struct Result: Sendable, Hashable, Decodable {
        /// The record's id, as sent.
        public var recordId: String
        /// `sha256:` + lowercase hex SHA-256 of the record's canonical payload.
        public var recordHash: String
        /// `true` when the idempotency key had been accepted before: nothing new was stored, and `recordHash` is
        /// the first acceptance's.
        public var idempotencyReplayed: Bool

        public init(recordId: String, recordHash: String, idempotencyReplayed: Bool) {
            self.recordId = recordId
            self.recordHash = recordHash
            self.idempotencyReplayed = idempotencyReplayed
        }
    }

    /// The tenant the records were stored for.
    public var tenantId: String
    /// How many records were accepted, replays included.
    public var accepted: Int
    /// One result per input record, in input order (the client checks count and record ids).
    public var results: [Result]

    public init(tenantId: String, accepted: Int, results: [Result]) {
        self.tenantId = tenantId
        self.accepted = accepted
        self.results = results
    }
}

/// The `202 Accepted` answer to `POST /api/v1/records` (one record).
public struct IngestResponse: Sendable, Hashable, Decodable {
    /// The record's id, as sent.
    public var recordId: String
    /// `sha256:` + lowercase hex SHA-256 of the record's canonical payload.
    public var recordHash: String
    /// The tenant the record was stored for.
    public var tenantId: String
    /// When Certyo first accepted the record (RFC 3339 UTC).
    public var acceptedAt: String
    /// `true` when the idempotency key had been accepted before and nothing new was stored.
    public var idempotencyReplayed: Bool

    public init(recordId: String, recordHash: String, tenantId: String, acceptedAt: String, idempotencyReplayed: Bool) {
        self.recordId = recordId
        self.recordHash = recordHash
        self.tenantId = tenantId
        self.acceptedAt = acceptedAt
        self.idempotencyReplayed = idempotencyReplayed
    }
}
