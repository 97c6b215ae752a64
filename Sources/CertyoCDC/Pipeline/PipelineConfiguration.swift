import CDCCore
import CertyoClient
import KafkaBridge

/// Settings of the Kafka → Certyo pipeline.
public struct PipelineConfiguration: Sendable {
    /// The consumer group, pattern and librdkafka pass-through properties. Default: ``KafkaConsumerConfiguration``.
    public var consumer = KafkaConsumerConfiguration()
    /// Batch sizes, linger and in-flight limits. Default: ``BatchingConfiguration``.
    public var batching = BatchingConfiguration()
    /// How long a revoked partition's in-flight and buffered work may take before it is abandoned. Default: 10 s.
    public var revokeTimeout: Duration = .seconds(10)
    /// How long shutdown waits for buffered and in-flight batches before abandoning them. Default: 15 s.
    public var shutdownTimeout: Duration = .seconds(15)

    /// Backoff between retries of a batch (429, 5xx, timeouts, connection errors). Default: ``RetryPolicy`` (1 s
    /// doubling, full jitter, capped at 60 s, never sooner than `Retry-After`).
    public var retry = RetryPolicy()
    /// After this many failed tries of one batch its partition is paused (polling goes on). Default: `3`.
    public var pauseAfterRetries = 3
    /// How often a batch is tried again while Certyo refuses the key (401/403). Default: 30 s.
    public var unauthorisedRetryInterval: Duration = .seconds(30)
    /// How often the `certyo_auth_failed` alert line repeats while the key is refused. Default: 60 s.
    public var unauthorisedAlertInterval: Duration = .seconds(60)
    /// How often the per-partition lag gauges are refreshed from the brokers' high watermarks (only when metrics are
    /// on). Default: 10 s.
    public var lagRefreshInterval: Duration = .seconds(10)

    public init() {}
}

extension PipelineConfiguration {
    /// The shared delivery loop's settings, from ``retry``, ``pauseAfterRetries``, ``unauthorisedRetryInterval`` and
    /// ``unauthorisedAlertInterval``.
    var delivery: DeliveryConfiguration {
        var delivery = DeliveryConfiguration()
        delivery.retry = retry
        delivery.pauseAfterRetries = pauseAfterRetries
        delivery.unauthorisedRetryInterval = unauthorisedRetryInterval
        delivery.unauthorisedAlertInterval = unauthorisedAlertInterval
        return delivery
    }
}
