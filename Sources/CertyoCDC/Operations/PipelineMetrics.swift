import CoreMetrics
import KafkaBridge
import Metrics
import Prometheus
import Synchronization

/// The pipeline's metrics (README, "Metrics"), made from one `MetricsFactory` so a test can read its own registry.
///
/// ``PipelineStatistics`` emits the counters as it counts; ``CertyoBatchSink`` records call latency and batch sizes;
/// the lag monitor sets the partition gauges; `/metrics` publishes readiness before each scrape.
public final class PipelineMetrics: Sendable {
    /// Metric names, fixed for every part of certyo-cdc.
    public enum Name {
        public static let consumed = "certyo_cdc_records_consumed_total"
        public static let ingested = "certyo_cdc_records_ingested_total"
        public static let replayed = "certyo_cdc_records_replayed_total"
        public static let skipped = "certyo_cdc_records_skipped_total"
        public static let deadLettered = "certyo_cdc_records_dead_lettered_total"
        public static let retries = "certyo_cdc_retries_total"
        public static let batchRecords = "certyo_cdc_batch_records"
        public static let requestDuration = "certyo_cdc_request_duration_seconds"
        public static let committedOffset = "certyo_cdc_partition_committed_offset"
        public static let lag = "certyo_cdc_partition_lag"
        public static let ready = "certyo_cdc_ready"
        public static let keyAccepted = "certyo_cdc_certyo_key_accepted"
        public static let verificationPasses = "certyo_cdc_verification_passes_total"
        public static let verificationPassFailures = "certyo_cdc_verification_pass_failures_total"
        public static let verificationRowsFailed = "certyo_cdc_verification_rows_failed_total"
    }

    private struct Dynamic {
        var deadLettered: [String: CoreMetrics.Counter] = [:]
        var retries: [String: CoreMetrics.Counter] = [:]
        var durations: [String: Metrics.Timer] = [:]
        var committed: [TopicPartition: CoreMetrics.Gauge] = [:]
        var lag: [TopicPartition: CoreMetrics.Gauge] = [:]
    }

    private let factory: any MetricsFactory
    private let consumed: CoreMetrics.Counter
    private let ingested: CoreMetrics.Counter
    private let replayed: CoreMetrics.Counter
    private let skipped: CoreMetrics.Counter
    private let batchRecords: Recorder
    private let ready: CoreMetrics.Gauge
    private let keyAccepted: CoreMetrics.Gauge
    private let verificationPasses: CoreMetrics.Counter
    private let verificationPassFailures: CoreMetrics.Counter
    private let verificationRowsFailed: CoreMetrics.Counter
    private let dynamic = Mutex(Dynamic())

    /// - Parameter factory: Where the metrics go: ``makePrometheusFactory(registry:)`` in production, any
    ///   `MetricsFactory` in tests.
    public init(factory: any MetricsFactory) {
        self.factory = factory
        consumed = CoreMetrics.Counter(label: Name.consumed, factory: factory)
        ingested = CoreMetrics.Counter(label: Name.ingested, factory: factory)
        replayed = CoreMetrics.Counter(label: Name.replayed, factory: factory)
        skipped = CoreMetrics.Counter(label: Name.skipped, factory: factory)
        batchRecords = Recorder(label: Name.batchRecords, dimensions: [], aggregate: true, factory: factory)
        ready = CoreMetrics.Gauge(label: Name.ready, factory: factory)
        keyAccepted = CoreMetrics.Gauge(label: Name.keyAccepted, factory: factory)
        verificationPasses = CoreMetrics.Counter(label: Name.verificationPasses, factory: factory)
        verificationPassFailures = CoreMetrics.Counter(label: Name.verificationPassFailures, factory: factory)
        verificationRowsFailed = CoreMetrics.Counter(label: Name.verificationRowsFailed, factory: factory)
        ready.record(0)
        keyAccepted.record(0)
    }

    /// A Prometheus factory over `registry` with buckets that fit certyo-cdc: request latency up to the 30 s call
    /// timeout, batch sizes up to Certyo's 1000 records.
    public static func makePrometheusFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[Name.requestDuration] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60),
        ]
        factory.valueHistogramBuckets[Name.batchRecords] = [1, 10, 50, 100, 250, 500, 750, 1000]
        return factory
    }

    /// Bootstraps swift-metrics once for the process with a Prometheus factory over a new registry, so metrics that
    /// other parts record through `MetricsSystem` land in the same `/metrics` output.
    /// - Returns: The registry to hand to ``CertyoCDCApplication``.
    /// - Important: Call once per process, from the executable only.
    public static func bootstrapPrometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(makePrometheusFactory(registry: registry))
        return registry
    }

    // MARK: - Counters (called by PipelineStatistics, under its lock)

    /// Emits what changed between two snapshots of the counts.
    func emit(from old: PipelineCounts, to new: PipelineCounts) {
        if new.consumed > old.consumed { consumed.increment(by: Int64(new.consumed - old.consumed)) }
        if new.ingested > old.ingested { ingested.increment(by: Int64(new.ingested - old.ingested)) }
        if new.replayed > old.replayed { replayed.increment(by: Int64(new.replayed - old.replayed)) }
        if new.skipped > old.skipped { skipped.increment(by: Int64(new.skipped - old.skipped)) }
        // Dictionaries left untouched share storage, so these comparisons are O(1) on the common path.
        if new.deadLetteredByReason != old.deadLetteredByReason {
            for (reason, count) in new.deadLetteredByReason where count > old.deadLetteredByReason[reason, default: 0] {
                counter(\.deadLettered, Name.deadLettered, "reason", reason)
                    .increment(by: Int64(count - old.deadLetteredByReason[reason, default: 0]))
            }
        }
        if new.retriesByCategory != old.retriesByCategory {
            for (category, count) in new.retriesByCategory where count > old.retriesByCategory[category, default: 0] {
                counter(\.retries, Name.retries, "category", category)
                    .increment(by: Int64(count - old.retriesByCategory[category, default: 0]))
            }
        }
        if new.committed != old.committed {
            for (tp, offset) in new.committed where old.committed[tp] != offset {
                setCommitted(tp, offset)
            }
        }
    }

    private func counter(
        _ path: WritableKeyPath<Dynamic, [String: CoreMetrics.Counter]>, _ label: String, _ dimension: String, _ value: String
    ) -> CoreMetrics.Counter {
        dynamic.withLock { dynamic in
            if let counter = dynamic[keyPath: path][value] { return counter }
            let counter = CoreMetrics.Counter(label: label, dimensions: [(dimension, value)], factory: factory)
            dynamic[keyPath: path][value] = counter
            return counter
        }
    }

    // MARK: - Verification worker

    /// One verification pass completed; `failedRows` rows were newly marked `failed` (tampering or a lost change).
    func verificationPassDone(failedRows: Int) {
        verificationPasses.increment()
        if failedRows > 0 { verificationRowsFailed.increment(by: Int64(failedRows)) }
    }

    /// One verification pass was abandoned (PostgreSQL or Certyo unreachable, a refusal).
    func verificationPassFailed() {
        verificationPassFailures.increment()
    }

    // MARK: - Certyo calls

    /// Records one bulk call: its latency by outcome (`202`, `401`, ..., `timeout`, `connection`) and its size.
    public func recordCall(status: String, duration: Duration, records: Int) {
        batchRecords.record(records)
        let timer = dynamic.withLock { dynamic in
            if let timer = dynamic.durations[status] { return timer }
            let timer = Metrics.Timer(label: Name.requestDuration, dimensions: [("status", status)], factory: factory)
            dynamic.durations[status] = timer
            return timer
        }
        timer.recordNanoseconds(duration.nanoseconds)
    }

    // MARK: - Partitions

    /// Sets the committed-offset gauge of `tp` (the next offset the group will read).
    public func setCommitted(_ tp: TopicPartition, _ offset: Int64) {
        gauge(\.committed, Name.committedOffset, tp).record(offset)
    }

    /// Sets the lag gauge of `tp`: high watermark minus committed offset.
    public func setLag(_ tp: TopicPartition, _ lag: Int64) {
        gauge(\.lag, Name.lag, tp).record(lag)
    }

    /// Drops the gauges of partitions this instance no longer holds, so two instances never report one partition.
    public func removePartitions(_ partitions: [TopicPartition]) {
        let gone = dynamic.withLock { dynamic -> [CoreMetrics.Gauge] in
            partitions.flatMap { tp in
                [dynamic.committed.removeValue(forKey: tp), dynamic.lag.removeValue(forKey: tp)].compactMap { $0 }
            }
        }
        for gauge in gone { gauge.destroy() }
    }

    private func gauge(
        _ path: WritableKeyPath<Dynamic, [TopicPartition: CoreMetrics.Gauge]>, _ label: String, _ tp: TopicPartition
    ) -> CoreMetrics.Gauge {
        dynamic.withLock { dynamic in
            if let gauge = dynamic[keyPath: path][tp] { return gauge }
            let gauge = CoreMetrics.Gauge(label: label, dimensions: [("topic", tp.topic), ("partition", String(tp.partition))],
                              factory: factory)
            dynamic[keyPath: path][tp] = gauge
            return gauge
        }
    }

    // MARK: - Readiness

    /// Sets `certyo_cdc_ready` and `certyo_cdc_certyo_key_accepted` from a readiness snapshot.
    public func publish(_ snapshot: Readiness.Snapshot) {
        ready.record(snapshot.isReady ? 1 : 0)
        keyAccepted.record(snapshot.certyo == .accepted ? 1 : 0)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds &* 1_000_000_000 &+ components.attoseconds / 1_000_000_000
    }
}
