import CDCCore
import CertyoClient

/// The production ``BatchSink``: Certyo's bulk endpoint.
public struct CertyoBatchSink: BatchSink {
    private let client: CertyoClient
    private let retryPolicy: RetryPolicy

    public init(client: CertyoClient, retryPolicy: RetryPolicy = RetryPolicy()) {
        self.client = client
        self.retryPolicy = retryPolicy
    }

    public func ingest(_ records: [CertyoRecord]) async throws -> BatchReceipt {
        let response = try await client.ingestBulk(records)
        return BatchReceipt(accepted: response.accepted, replayed: response.results.lazy.filter(\.idempotencyReplayed).count)
    }

    public func retryDelay(after error: any Error, attempt: Int) -> Duration {
        retryPolicy.delay(forAttempt: max(0, attempt - 1), retryAfter: (error as? CertyoError)?.retryAfter)
    }
}
