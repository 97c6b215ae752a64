import CRdKafka
import Dispatch
import Logging

/// What a Kafka cluster says about itself: its brokers and its topics (`rd_kafka_metadata` for all topics).
public struct KafkaClusterMetadata: Sendable, Hashable {
    /// One broker as the cluster advertises it.
    public struct Broker: Sendable, Hashable {
        public var id: Int32
        public var host: String
        public var port: Int32
    }

    /// One topic and its partition count; `error` is the broker's error for the topic, if any.
    public struct Topic: Sendable, Hashable {
        public var name: String
        public var partitions: Int
        public var error: String?
    }

    /// The brokers the cluster advertises.
    public var brokers: [Broker]
    /// Every topic, internal ones included, sorted by name.
    public var topics: [Topic]

    /// The topic of this name, if the cluster has it.
    public func topic(named name: String) -> Topic? {
        topics.first { $0.name == name }
    }

    /// Asks the cluster for its brokers and all its topics with a short-lived client of its own.
    ///
    /// - Parameters:
    ///   - bootstrapServers: `host:port[,host:port...]`.
    ///   - additionalProperties: librdkafka properties for the connection (security, SASL, SSL, ...); only the
    ///     ones a producer client accepts (``KafkaProducerConfiguration/sharedPropertyPrefixes``) are used.
    ///   - timeout: How long the metadata request may take, connecting included.
    ///   - logger: Receives librdkafka's own log lines.
    /// - Returns: The cluster's answer.
    /// - Throws: A ``KafkaError``: `.configuration` for a rejected property, `.query` with librdkafka's reason
    ///   (e.g. `Local: Broker transport failure`, `Local: Timed out`) when no broker answered in time.
    public static func fetch(
        bootstrapServers: String,
        additionalProperties: [String: String] = [:],
        timeout: Duration = .seconds(10),
        logger: Logger
    ) async throws -> KafkaClusterMetadata {
        var properties = additionalProperties.filter { entry in
            KafkaProducerConfiguration.sharedPropertyPrefixes.contains(where: entry.key.hasPrefix)
        }
        properties["bootstrap.servers"] = bootstrapServers
        properties["client.id"] = "certyo-cdc-doctor"
        properties["log_level"] = "3"
        let client = try RDKafkaClient(
            kind: .producer, properties: properties, context: RDKafkaClientContext(logger: logger, rebalance: nil)
        )
        let timeoutMilliseconds = Int32(clamping: max(1, timeout.milliseconds))
        return try await onQueue(DispatchQueue(label: "certyo-cdc.kafka.metadata")) {
            let metadata = try RDKafkaMetadata(client: client, timeoutMilliseconds: timeoutMilliseconds)
            return metadata.withPointer { pointer in
                let raw = pointer.pointee
                let brokers = (0..<Int(raw.broker_cnt)).map { index in
                    let broker = raw.brokers[index]
                    return Broker(id: broker.id, host: broker.host.map { String(cString: $0) } ?? "",
                                  port: broker.port)
                }
                let topics = (0..<Int(raw.topic_cnt)).map { index in
                    let topic = raw.topics[index]
                    let error = topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : String(cString: rd_kafka_err2str(topic.err))
                    return Topic(name: topic.topic.map { String(cString: $0) } ?? "",
                                 partitions: Int(topic.partition_cnt), error: error)
                }
                return KafkaClusterMetadata(brokers: brokers, topics: topics.sorted { $0.name < $1.name })
            }
        }
    }
}

/// Owns one `rd_kafka_metadata` answer (`rd_kafka_metadata_destroy` in `deinit`).
final class RDKafkaMetadata {
    private let pointer: UnsafePointer<rd_kafka_metadata_t>
    /// Keeps the client the answer came from alive as long as the answer.
    private let client: RDKafkaClient

    /// Sends the metadata request for all topics and waits for the answer (blocking: call it off the cooperative
    /// pool).
    /// - Throws: A ``KafkaError`` (`.query`) with librdkafka's reason.
    init(client: RDKafkaClient, timeoutMilliseconds: Int32) throws {
        var answer: UnsafePointer<rd_kafka_metadata_t>?
        let err = client.withPointer { rd_kafka_metadata($0, 1, nil, &answer, timeoutMilliseconds) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let answer else {
            throw KafkaError.rdKafka(err, code: .query, context: "cannot read the cluster's metadata")
        }
        self.pointer = answer
        self.client = client
    }

    deinit {
        rd_kafka_metadata_destroy(pointer)
    }

    /// Access to the answer. - Important: The pointer must not escape `body`.
    func withPointer<T>(_ body: (UnsafePointer<rd_kafka_metadata_t>) throws -> T) rethrows -> T {
        try body(pointer)
    }
}
