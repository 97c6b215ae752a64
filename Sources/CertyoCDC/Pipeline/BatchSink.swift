import CDCCore

/// Where accepted batches go: Certyo's bulk endpoint in production, anything else in benchmarks.
public protocol BatchSink: Sendable {
    /// Sends one bulk call of at most 1000 records.
    /// - Returns: Once the call was accepted (HTTP 202).
    /// - Throws: Any error; the pipeline retries the same batch after ``retryDelay(after:attempt:)``.
    func ingest(_ records: [CertyoRecord]) async throws -> BatchReceipt

    /// How long to wait before retrying after `error` on the `attempt`-th try (1-based).
    func retryDelay(after error: any Error, attempt: Int) -> Duration
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
