import KafkaBridge
import Synchronization

/// Counters of one pipeline run, for the demo's summary, the logs and the metrics.
public struct PipelineCounts: Sendable, Hashable {
    public var consumed = 0
    public var ingested = 0
    public var replayed = 0
    public var skipped = 0
    public var deadLettered = 0
    public var retries = 0
    /// Retries by cause: `rate_limited`, `server_error`, `timeout`, `connection`, ...
    public var retriesByCategory: [String: Int] = [:]
    public var batches = 0
    public var committed: [TopicPartition: Int64] = [:]

    public init() {}
}

/// Thread-safe holder of ``PipelineCounts``.
public final class PipelineStatistics: Sendable {
    private let counts = Mutex(PipelineCounts())

    public init() {}

    public var snapshot: PipelineCounts { counts.withLock { $0 } }

    func update(_ body: (inout PipelineCounts) -> Void) {
        counts.withLock { body(&$0) }
    }
}
