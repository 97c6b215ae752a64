import CDCCore
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

    public init() {}
}
