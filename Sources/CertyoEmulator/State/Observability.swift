/// What the emulator has done since it started (or since the last reset); read it in-process with
/// ``RunningEmulator/counters()`` or over HTTP with `GET /__admin/counters`.
public struct EmulatorCounters: Sendable, Equatable {
    /// API requests received (the admin path is not counted).
    public var requests = 0
    /// API responses by HTTP status; requests whose connection was closed are not in here.
    public var responsesByStatus: [Int: Int] = [:]
    /// Record versions stored (replays not included).
    public var recordsStored = 0
    /// Records answered from an earlier acceptance of their idempotency key.
    public var idempotencyReplays = 0
    /// Calls refused with `409 idempotency_conflict`.
    public var idempotencyConflicts = 0
    /// Calls refused with `429 rate_limited`.
    public var rateLimited = 0
    /// Injected `500`/`502`/`503` answers.
    public var injectedServerErrors = 0
    /// Connections closed instead of answering.
    public var droppedConnections = 0
    /// Responses delayed by the slow-response fault.
    public var slowResponses = 0
    /// Verify responses whose proof was forged.
    public var forgedProofs = 0
    /// Accumulator batches flushed into Merkle trees.
    public var batchesFlushed = 0
    /// Batches anchored (fake Polygon transactions).
    public var batchesAnchored = 0

    public init() {}
}

/// One API request as the emulator saw it; read the log with ``RunningEmulator/requestLog()`` or
/// `GET /__admin/requests`.
public struct LoggedRequest: Sendable, Equatable {
    /// Arrival order, from 1.
    public var sequence: Int
    /// Wall-clock arrival, RFC 3339 UTC with microseconds.
    public var arrivedAt: String
    /// Arrival on the emulator's monotonic clock, measured from its start: compare two of these to check, for
    /// example, that a retry waited for `Retry-After`.
    public var elapsed: Duration
    public var method: String
    public var path: String
    /// When the answer was handed to the connection (or the connection closed), on the same clock as ``elapsed``;
    /// `nil` while the request is in progress. A client's `Retry-After` wait starts after this instant.
    public var answeredElapsed: Duration?
    /// The status sent; `nil` when the connection was closed instead (or while the request is in progress).
    public var status: Int?
    /// The tenant of the API key, once the key was recognised.
    public var tenantId: String?
    /// The idempotency keys the request carried, in input order (empty for calls without any).
    public var idempotencyKeys: [String]
    /// The first `idempotencyKey` in the body, read even when a fault, the rate limit or authentication refused the
    /// request before processing it: pairs a retry with the refusal before it. `nil` when the body has none (or
    /// was not read, e.g. `413 payload_too_large`).
    public var batchFingerprint: String?
    /// The `Retry-After` seconds sent, if any.
    public var retryAfterSeconds: Int?
    /// The injected faults that shaped the answer, comma-separated: `server_error`, `disconnect`, `slow_response`,
    /// `forged_proof`; `nil` when none.
    public var fault: String?
}
