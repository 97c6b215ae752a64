import KafkaBridge
import Synchronization

/// Counters of one pipeline run, for the demo's summary, the logs and the metrics.
public struct PipelineCounts: Sendable, Hashable {
    public var consumed = 0
    public var ingested = 0
    public var replayed = 0
    public var skipped = 0
    public var deadLettered = 0
    /// Dead letters by reason (`malformed_json`, `toast_placeholder`, `invalid_record`, `too_large`, ...).
    public var deadLetteredByReason: [String: Int] = [:]
    public var retries = 0
    /// Retries by cause: `rate_limited`, `server_error`, `timeout`, `connection`, ...
    public var retriesByCategory: [String: Int] = [:]
    public var batches = 0
    public var committed: [TopicPartition: Int64] = [:]

    public init() {}
}

/// Thread-safe holder of ``PipelineCounts``: the one place that both counts and emits the pipeline's metrics, and
/// tells ``Readiness`` which partitions this instance holds.
public final class PipelineStatistics: Sendable {
    private struct State {
        var counts = PipelineCounts()
        var assigned: Set<TopicPartition> = []
    }

    private let state = Mutex(State())
    /// Where counts are emitted as metrics. Default: none.
    public let metrics: PipelineMetrics?
    /// Told how many partitions are assigned. Default: none.
    public let readiness: Readiness?

    /// - Parameters:
    ///   - metrics: Receives every change of the counts (deltas, batched by the caller's updates).
    ///   - readiness: Receives the number of assigned partitions.
    public init(metrics: PipelineMetrics? = nil, readiness: Readiness? = nil) {
        self.metrics = metrics
        self.readiness = readiness
    }

    public var snapshot: PipelineCounts { state.withLock { $0.counts } }

    /// The partitions this instance holds now.
    public var assignedPartitions: Set<TopicPartition> { state.withLock { $0.assigned } }

    /// Changes the counts and emits the difference as metrics, under one lock (no extra lock per record).
    func update(_ body: (inout PipelineCounts) -> Void) {
        state.withLock { state in
            guard let metrics else { return body(&state.counts) }
            let before = state.counts
            body(&state.counts)
            metrics.emit(from: before, to: state.counts)
        }
    }

    /// Called from the consumer's rebalance callback.
    func partitionsAssigned(_ partitions: [TopicPartition]) {
        let (count, committed) = state.withLock { state in
            state.assigned.formUnion(partitions)
            return (state.assigned.count, partitions.compactMap { tp in state.counts.committed[tp].map { (tp, $0) } })
        }
        for (tp, offset) in committed { metrics?.setCommitted(tp, offset) }
        readiness?.update { $0.assignedPartitions = count }
    }

    /// Called from the consumer's rebalance callback (revoked or lost).
    func partitionsRevoked(_ partitions: [TopicPartition]) {
        let count = state.withLock { state in
            state.assigned.subtract(partitions)
            return state.assigned.count
        }
        metrics?.removePartitions(partitions)
        readiness?.update { $0.assignedPartitions = count }
    }
}
