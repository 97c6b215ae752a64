import Dispatch
import Logging

/// Reads a consumer group's committed offsets from outside the group, again and again over one connection.
///
/// ``KafkaConsumer/committedOffsets(of:configuration:timeout:logger:)`` builds a client per call; polling every few
/// milliseconds (the benchmark's commit-latency measurement, lag checks) needs one that stays connected. The client
/// never subscribes, so it never joins the group or disturbs its members.
public final class KafkaCommittedOffsetsReader: Sendable {
    private let client: RDKafkaClient
    private let queue = DispatchQueue(label: "certyo-cdc.kafka.committed-offsets")

    /// - Parameter configuration: The group (`groupID`) and bootstrap servers; the topic pattern is not used.
    /// - Throws: A ``KafkaError`` when a property is rejected.
    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws {
        client = try RDKafkaClient(kind: .consumer, properties: try configuration.rdKafkaProperties(),
                                   context: RDKafkaClientContext(logger: logger, rebalance: nil))
    }

    /// The group's committed offsets (the next offset to read) of `partitions`; `nil` where nothing was committed.
    /// - Throws: A ``KafkaError`` (`.query`) when the coordinator does not answer within `timeout`.
    public func read(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws
        -> [TopicPartition: Int64?]
    {
        try await onQueue(queue) { [client] in
            try KafkaConsumer.readCommitted(client, partitions, timeout: timeout)
        }
    }
}
