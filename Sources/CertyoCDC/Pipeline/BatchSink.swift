import CDCCore

/// Where accepted batches go: Certyo's bulk endpoint in production, anything else in benchmarks.
public protocol BatchSink: Sendable {
    /// Sends one bulk call of at most 1000 records.
    /// - Returns: Once the call was accepted (HTTP 202).
    /// - Throws: Any error; ``classify(_:)`` says what the pipeline does about it.
    func ingest(_ records: [CertyoRecord]) async throws -> BatchReceipt

    /// What a failed call means for the batch.
    func classify(_ error: any Error) -> FailureDisposition

    /// Called before a batch refused for its credentials (401/403) is tried again: re-read what can change
    /// (a key file).
    func reloadCredentials() async
}

extension BatchSink {
    public func reloadCredentials() async {}
}

/// What a failed bulk call means, and so what the pipeline does next.
public enum FailureDisposition: Sendable {
    /// Try the same records again later (429, 5xx, timeouts, connection errors), not sooner than `retryAfter`.
    /// `category` names the counter (`rate_limited`, `server_error`, `timeout`, `connection`).
    case retry(retryAfter: Duration?, category: String)
    /// The call was too large (413): send the batch in halves; a record refused alone is dead-lettered.
    case split(status: Int, code: String)
    /// Certyo refused these records (by index in the batch) and nothing of the call was stored: dead-letter them
    /// and send the rest again.
    case reject([Int: Rejection])
    /// The key or tenant is not accepted (401/403): stop sending until it is.
    case unauthorized(message: String)
    /// Anything else Certyo refused as a whole (an unexpected 4xx): every record of the batch is dead-lettered.
    case rejectAll(Rejection)
}

/// Why Certyo refused a record.
public struct Rejection: Sendable, Hashable {
    /// Our reason code (`invalid_record`, `idempotency_conflict`, ...).
    public var reason: String
    public var message: String
    public var httpStatus: Int?
    public var errorCode: String?

    public init(reason: String, message: String, httpStatus: Int?, errorCode: String?) {
        self.reason = reason
        self.message = message
        self.httpStatus = httpStatus
        self.errorCode = errorCode
    }
}

/// What Certyo said of an accepted batch.
public struct BatchReceipt: Sendable, Hashable {
    /// Records accepted, replays included.
    public var accepted: Int
    /// Records whose idempotency key Certyo had already seen (a replay after a crash or rebalance).
    public var replayed: Int

    public init(accepted: Int, replayed: Int) {
        self.accepted = accepted
        self.replayed = replayed
    }
}
