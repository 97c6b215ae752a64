/// A record as certyo-cdc sends it to Certyo's ingest endpoints (`../shared/certyo-api.md`, "Record fields").
///
/// `recordPayload` is held already serialised as RFC 8785 (JCS) canonical JSON, so its bytes are exactly what Certyo
/// hashes; `tenantId` is added by the client when it builds a request.
public struct CertyoRecord: Sendable, Hashable {
    /// The database name, e.g. `productdb`.
    public var database: String
    /// The fully qualified table, e.g. `public.products`.
    public var collection: String
    /// The primary key as a string (one column) or as JCS text of the key array (composite).
    public var recordId: String
    /// The canonical row, serialised as JCS canonical JSON (UTF-8).
    public var recordPayload: [UInt8]
    public var operationType: OperationType
    /// The commit time of the change, ISO 8601 UTC; `nil` when unknown.
    public var sourceTimestamp: String?
    /// Deterministic key derived from the change's source position (never a clock).
    public var idempotencyKey: String

    public init(
        database: String,
        collection: String,
        recordId: String,
        recordPayload: [UInt8],
        operationType: OperationType,
        sourceTimestamp: String?,
        idempotencyKey: String
    ) {
        self.database = database
        self.collection = collection
        self.recordId = recordId
        self.recordPayload = recordPayload
        self.operationType = operationType
        self.sourceTimestamp = sourceTimestamp
        self.idempotencyKey = idempotencyKey
    }
}

/// Certyo's `operationType` values.
public struct OperationType: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    private init(_ rawValue: String) { self.rawValue = rawValue }

    public static let upsert = OperationType("upsert")
    public static let insert = OperationType("insert")
    public static let update = OperationType("update")
    public static let delete = OperationType("delete")

    public var description: String { rawValue }
}
