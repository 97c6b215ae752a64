import CRdKafka
import Dispatch

/// The offsets a partition holds: the first still kept (`low`) and the next one to be written (`high`).
public struct PartitionWatermarks: Sendable, Hashable {
    public var low: Int64
    public var high: Int64

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}

extension KafkaConsumer {
    /// Asks the partition leaders for the current low and high watermarks of `partitions`.
    ///
    /// Each partition is one broker round trip (`rd_kafka_query_watermark_offsets`), run on a queue of its own so
    /// commits never wait behind it. Meant for a periodic lag refresh, not for every message.
    /// - Parameters:
    ///   - partitions: The partitions to ask about.
    ///   - timeout: How long each partition's query may take.
    /// - Returns: The watermarks of every partition that answered in time; a partition that did not is left out.
    public func watermarks(
        for partitions: [TopicPartition],
        timeout: Duration = .seconds(5)
    ) async throws -> [TopicPartition: PartitionWatermarks] {
        guard !partitions.isEmpty else { return [:] }
        let queue = DispatchQueue(label: "certyo-cdc.kafka.watermarks")
        return try await onQueue(queue) { [client] in
            client.withPointer { rk in
                var result: [TopicPartition: PartitionWatermarks] = [:]
                for tp in partitions {
                    var low: Int64 = 0
                    var high: Int64 = 0
                    let err = rd_kafka_query_watermark_offsets(
                        rk, tp.topic, tp.partition, &low, &high, Int32(clamping: timeout.milliseconds)
                    )
                    if err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 {
                        result[tp] = PartitionWatermarks(low: low, high: high)
                    }
                }
                return result
            }
        }
    }
}
