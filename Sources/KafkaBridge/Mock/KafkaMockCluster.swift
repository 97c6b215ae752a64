import CRdKafka
import Logging

/// librdkafka's built-in mock cluster: a real Kafka-protocol broker on 127.0.0.1 with consumer groups and offset
/// commits, for tests, the demo and the benchmark.
///
/// Owns the producer handle the mock lives in and the `rd_kafka_mock_cluster_t`. It keeps only ~5 MiB per partition:
/// use many partitions, or consume while producing, for large loads.
public final class KafkaMockCluster: @unchecked Sendable {
    // @unchecked Sendable: librdkafka's mock API is thread-safe (it posts operations to the mock's own thread).
    private let client: RDKafkaClient
    private let cluster: OpaquePointer
    /// The address to give clients as `bootstrap.servers`.
    public let bootstrapServers: String

    /// Starts a mock cluster of `brokers` brokers on random loopback ports.
    /// - Throws: A ``KafkaError`` (`.mockCluster`) when librdkafka cannot create it.
    public init(brokers: Int = 1, logger: Logger = Logger(label: "certyo-cdc.kafka-mock")) throws {
        let context = RDKafkaClientContext(logger: logger, rebalance: nil)
        client = try RDKafkaClient(kind: .producer, properties: ["log_level": "3"], context: context)
        guard let cluster = client.withPointer({ rd_kafka_mock_cluster_new($0, Int32(brokers)) }) else {
            throw KafkaError(code: .mockCluster, message: "rd_kafka_mock_cluster_new failed")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        // The mock must go before the handle it lives in.
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Creates `topic` with `partitions` partitions (unknown topics are otherwise auto-created with 4).
    /// - Throws: A ``KafkaError`` (`.mockCluster`) with librdkafka's reason.
    public func createTopic(_ topic: String, partitions: Int) throws {
        let err = rd_kafka_mock_topic_create(cluster, topic, Int32(partitions), 1)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(err, code: .mockCluster, context: "creating topic", topic: topic)
        }
    }
}
