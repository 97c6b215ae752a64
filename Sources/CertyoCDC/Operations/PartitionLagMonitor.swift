import KafkaBridge
import Logging

/// Refreshes `certyo_cdc_partition_lag` (high watermark minus committed offset) and
/// `certyo_cdc_partition_committed_offset` for every partition this instance holds, on an interval, never per
/// message.
///
/// The committed offset is what this instance committed; for a partition it has not committed on yet, the group's
/// committed offset is read from the coordinator, and when the group has none, the low watermark (where an
/// `earliest` reset starts).
struct PartitionLagMonitor: Sendable {
    let statistics: PipelineStatistics
    let metrics: PipelineMetrics
    let interval: Duration
    let logger: Logger

    /// Runs until the task is cancelled.
    func run(_ consumer: KafkaConsumer) async {
        var groupCommitted: [TopicPartition: Int64] = [:]
        while !Task.isCancelled {
            await refresh(consumer, groupCommitted: &groupCommitted)
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    func refresh(_ consumer: KafkaConsumer, groupCommitted: inout [TopicPartition: Int64]) async {
        let partitions = statistics.assignedPartitions.sorted()
        guard !partitions.isEmpty else { return }
        do {
            let marks = try await consumer.watermarks(for: partitions)
            let ours = statistics.snapshot.committed
            let unknown = partitions.filter { ours[$0] == nil && groupCommitted[$0] == nil }
            if !unknown.isEmpty {
                for (tp, offset) in try await consumer.committed(unknown) {
                    if let offset { groupCommitted[tp] = offset }
                }
            }
            // Only partitions still held once the answers are in: a revoked one has had its gauges dropped.
            let held = statistics.assignedPartitions
            for tp in partitions where held.contains(tp) {
                guard let mark = marks[tp] else { continue }
                let committed = ours[tp] ?? groupCommitted[tp]
                if ours[tp] == nil, let committed { metrics.setCommitted(tp, committed) }
                metrics.setLag(tp, max(0, mark.high - (committed ?? mark.low)))
            }
        } catch {
            logger.debug("partition lag refresh failed; retried in \(interval): \(error)")
        }
    }
}
