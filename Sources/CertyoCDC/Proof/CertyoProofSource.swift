import CertyoClient
import Logging

/// Certyo's latest stored version of a record: what `GET /api/v1/records?limit=1` returns first.
public struct LatestVersion: Sendable, Hashable {
    public var recordHash: String
    /// `insert`, `update`, `delete`, `upsert`, or `nil` when the version was ingested without one.
    public var operationType: String?
    public var acceptedAt: String

    public init(recordHash: String, operationType: String?, acceptedAt: String) {
        self.recordHash = recordHash
        self.operationType = operationType
        self.acceptedAt = acceptedAt
    }
}

/// The two questions a proof asks Certyo. ``RetryingCertyoProofSource`` asks the real API; tests can answer them
/// from a table.
public protocol CertyoProofSource: Sendable {
    /// The record's newest version, or `nil` when Certyo has none.
    func latestVersion(database: String, collection: String, recordId: String) async throws -> LatestVersion?
    /// The verify answer about the version with `recordHash`, or `nil` when Certyo has no version with that hash.
    func verify(database: String, collection: String, recordId: String, recordHash: String) async throws
        -> VerifyResponse?
}

/// Runs a Certyo call again while it fails with a retriable error (429, 5xx, timeouts, connection failures), with
/// the pipeline's backoff: capped exponential with full jitter, never sooner than `Retry-After`.
public struct CertyoRetrying<ClockType: Clock>: Sendable where ClockType.Duration == Duration {
    /// The backoff. Default: ``RetryPolicy``'s defaults (1 s doubling, capped at 60 s).
    public var policy: RetryPolicy
    /// Give up after this many attempts in all (the last error is thrown); `nil` retries until cancelled.
    public var maximumAttempts: Int?
    let clock: ClockType
    let logger: Logger
    /// Starts the warning line of each retry, e.g. `verification`.
    let label: String

    public init(policy: RetryPolicy = RetryPolicy(), maximumAttempts: Int?, clock: ClockType, logger: Logger,
                label: String) {
        self.policy = policy
        self.maximumAttempts = maximumAttempts
        self.clock = clock
        self.logger = logger
        self.label = label
    }

    /// Runs `body`, retrying retriable ``CertyoError``s.
    ///
    /// - Throws: A non-retriable error at once, the last retriable one after ``maximumAttempts``, or
    ///   `CancellationError` while waiting.
    public func run<Result: Sendable>(_ what: String, _ body: () async throws -> Result) async throws -> Result {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as CertyoError where error.isRetriable {
                if let maximumAttempts, attempt + 1 >= maximumAttempts { throw error }
                let delay = policy.delay(forAttempt: attempt, retryAfter: error.retryAfter)
                logger.warning(
                    "\(label): Certyo \(what) call failed; retrying",
                    metadata: ["error": "\(error)", "retry.delay": "\(delay)", "retry.attempt": "\(attempt + 1)"]
                )
                try await clock.sleep(for: delay)
                attempt += 1
            }
        }
    }
}

/// A ``CertyoProofSource`` over a ``CertyoClient`` whose calls are retried by a ``CertyoRetrying``.
public struct RetryingCertyoProofSource<ClockType: Clock>: CertyoProofSource where ClockType.Duration == Duration {
    let client: CertyoClient
    let retrying: CertyoRetrying<ClockType>

    public init(client: CertyoClient, retrying: CertyoRetrying<ClockType>) {
        self.client = client
        self.retrying = retrying
    }

    public func latestVersion(database: String, collection: String, recordId: String) async throws
        -> LatestVersion?
    {
        let page = try await retrying.run("records") {
            try await client.records(database: database, collection: collection, recordId: recordId, limit: 1)
        }
        return page.records.first.map {
            LatestVersion(recordHash: $0.recordHash, operationType: $0.operationType, acceptedAt: $0.acceptedAt)
        }
    }

    public func verify(database: String, collection: String, recordId: String, recordHash: String) async throws
        -> VerifyResponse?
    {
        do {
            return try await retrying.run("verify") {
                try await client.verify(
                    database: database, collection: collection, recordId: recordId, recordHash: recordHash
                )
            }
        } catch let error as CertyoError where error.code == .notFound {
            return nil
        }
    }
}
