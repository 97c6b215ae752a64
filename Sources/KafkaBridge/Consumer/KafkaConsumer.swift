import CRdKafka
import Dispatch
import Logging

/// What a consumer tells its owner when the group moves partitions.
///
/// Both methods are called on the consumer's poll thread, inside ``KafkaConsumer/poll(maxMessages:)``, never on the
/// Swift cooperative pool, so they may block for a bounded time.
public protocol KafkaRebalanceListener: Sendable {
    /// Partitions are about to be taken away. Finish or abandon in-flight work for them (within a bound) and return
    /// the next offset to read of each partition whose work is done; the consumer commits those synchronously before
    /// it gives the partitions up. When `lost` is true the partitions already belong to another member: commit nothing.
    func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool) -> [TopicPartition: Int64]
    /// Partitions were assigned (they start unpaused).
    func partitionsAssigned(_ partitions: [TopicPartition])
}

/// A consumer-group member that subscribes to a topic pattern and commits only the offsets it is given.
///
/// `enable.auto.commit` and `enable.auto.offset.store` are off: Kafka commits the next offset to read, and the
/// pipeline decides when a partition may move past a record. Polls run on a dedicated serial queue, commits and
/// offset queries on another, so blocking librdkafka calls never run on the cooperative pool.
public final class KafkaConsumer: Sendable {
    let client: RDKafkaClient
    private let pollQueue: DispatchQueue
    private let blockingQueue: DispatchQueue
    private let configuration: KafkaConsumerConfiguration
    private let logger: Logger
    private let topicNames: TopicNameCache

    /// Creates the consumer and subscribes it to the configured pattern.
    /// - Parameters:
    ///   - configuration: Group, bootstrap servers, pattern and pass-through properties.
    ///   - listener: Told about assignments and revocations (on the poll thread).
    ///   - logger: Receives librdkafka's logs and errors.
    /// - Throws: A ``KafkaError`` naming a rejected property, or a subscription failure.
    public init(
        configuration: KafkaConsumerConfiguration,
        listener: any KafkaRebalanceListener,
        logger: Logger
    ) throws {
        let properties = try configuration.rdKafkaProperties()
        let rebalanceLogger = logger
        let context = RDKafkaClientContext(logger: logger) { rk, err, list in
            Self.handleRebalance(rk: rk, err: err, list: list, listener: listener, logger: rebalanceLogger)
        }
        let client = try RDKafkaClient(kind: .consumer, properties: properties, context: context)
        self.client = client
        self.configuration = configuration
        self.logger = logger
        self.pollQueue = DispatchQueue(label: "certyo-cdc.kafka.poll")
        self.blockingQueue = DispatchQueue(label: "certyo-cdc.kafka.blocking")
        self.topicNames = TopicNameCache()
        try client.withPointer { rk in
            let err = rd_kafka_poll_set_consumer(rk)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdKafka(err, code: .subscription, context: "rd_kafka_poll_set_consumer")
            }
            let topics = RDKafkaTopicPartitionList([(TopicPartition(topic: configuration.topicPattern, partition: -1), nil)])
            let subscribed = topics.withPointer { rd_kafka_subscribe(rk, $0) }
            guard subscribed == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdKafka(subscribed, code: .subscription,
                                         context: "subscribing to '\(configuration.topicPattern)'")
            }
        }
    }

    /// Polls for up to `maxMessages` messages: waits up to the configured poll timeout for the first, then takes what
    /// is already fetched. Rebalance callbacks run inside this call.
    /// - Returns: The messages, in partition order as fetched; empty when none arrived in time.
    /// - Throws: A ``KafkaError`` when the consumer hit a fatal error.
    public func poll(maxMessages: Int = 1000) async throws -> [KafkaMessage] {
        let timeoutMs = Int32(clamping: configuration.pollTimeout.components.seconds * 1000
            + configuration.pollTimeout.components.attoseconds / 1_000_000_000_000_000)
        return try await onQueue(pollQueue) { [client, logger, topicNames] in
            try client.withPointer { rk in
                var messages: [KafkaMessage] = []
                var wait = timeoutMs
                while messages.count < maxMessages {
                    guard let raw = rd_kafka_consumer_poll(rk, wait) else { break }
                    defer { rd_kafka_message_destroy(raw) }
                    wait = 0
                    let err = raw.pointee.err
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                        let error = KafkaError.rdKafka(err, code: .poll, context: "consumer error")
                        if err == RD_KAFKA_RESP_ERR__FATAL { throw error }
                        logger.warning("\(error)")
                        continue
                    }
                    messages.append(Self.copy(raw, topicNames: topicNames))
                }
                return messages
            }
        }
    }

    /// Commits `offsets` (the next offset to read, per partition) synchronously.
    /// - Throws: A ``KafkaError`` (`.commit`) when the broker refused the commit or a partition's commit failed.
    public func commit(_ offsets: [TopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        try await onQueue(blockingQueue) { [client] in
            try client.withPointer { rk in try Self.commitSync(rk: rk, offsets: offsets) }
        }
    }

    /// The group's committed offsets for `partitions` (`nil` when nothing was committed).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) async throws
        -> [TopicPartition: Int64?]
    {
        try await onQueue(blockingQueue) { [client] in
            try Self.readCommitted(client, partitions, timeout: timeout)
        }
    }

    /// Reads a group's committed offsets from outside the group: the client never subscribes, so it never joins
    /// the group or disturbs its members (for tooling, lag checks and tests).
    /// - Throws: A ``KafkaError`` when the properties are rejected or the coordinator does not answer in time.
    public static func committedOffsets(
        of partitions: [TopicPartition],
        configuration: KafkaConsumerConfiguration,
        timeout: Duration = .seconds(10),
        logger: Logger
    ) async throws -> [TopicPartition: Int64?] {
        let client = try RDKafkaClient(kind: .consumer, properties: try configuration.rdKafkaProperties(),
                                       context: RDKafkaClientContext(logger: logger, rebalance: nil))
        return try await onQueue(DispatchQueue(label: "certyo-cdc.kafka.offsets")) {
            try readCommitted(client, partitions, timeout: timeout)
        }
    }

    static func readCommitted(_ client: RDKafkaClient, _ partitions: [TopicPartition], timeout: Duration)
        throws -> [TopicPartition: Int64?]
    {
        try client.withPointer { rk in
            let list = RDKafkaTopicPartitionList(partitions.map { ($0, nil) })
            let err = list.withPointer { rd_kafka_committed(rk, $0, Int32(timeout.milliseconds)) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdKafka(err, code: .query, context: "reading committed offsets")
            }
            var result: [TopicPartition: Int64?] = [:]
            for (tp, offset, _) in list.entries { result[tp] = offset >= 0 ? offset : nil }
            return result
        }
    }

    /// Pauses fetching for `partitions` while polling (and group membership) continues.
    public func pause(_ partitions: [TopicPartition]) throws {
        try changePause(partitions, pause: true)
    }

    /// Resumes fetching for `partitions`.
    public func resume(_ partitions: [TopicPartition]) throws {
        try changePause(partitions, pause: false)
    }

    /// Leaves the group: revokes the assignment (the listener commits what is done) and closes the consumer.
    public func close() async throws {
        try await onQueue(pollQueue) { [client] in
            try client.withPointer { rk in
                let err = rd_kafka_consumer_close(rk)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError.rdKafka(err, code: .closed, context: "closing the consumer")
                }
            }
        }
    }

    // MARK: - Internals

    private func changePause(_ partitions: [TopicPartition], pause: Bool) throws {
        guard !partitions.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(partitions.map { ($0, nil) })
        let err = client.withPointer { rk in
            list.withPointer { pause ? rd_kafka_pause_partitions(rk, $0) : rd_kafka_resume_partitions(rk, $0) }
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(err, code: .assignment, context: pause ? "pausing partitions" : "resuming partitions")
        }
    }

    private static func commitSync(rk: OpaquePointer, offsets: [TopicPartition: Int64]) throws {
        let list = RDKafkaTopicPartitionList(offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        let err = list.withPointer { rd_kafka_commit(rk, $0, 0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdKafka(err, code: .commit, context: "committing \(offsets.count) partition(s)")
        }
        for (tp, _, partitionError) in list.entries where partitionError != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError.rdKafka(partitionError, code: .commit, context: "committing",
                                     topic: tp.topic, partition: tp.partition)
        }
    }

    private static func handleRebalance(
        rk: OpaquePointer,
        err: rd_kafka_resp_err_t,
        list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
        listener: any KafkaRebalanceListener,
        logger: Logger
    ) {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        let partitions = RDKafkaTopicPartitionList.entries(of: list).map(\.0)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, list) {
                    logger.error("kafka incremental assign failed: \(String(cString: rd_kafka_error_string(error)))")
                    rd_kafka_error_destroy(error)
                }
            } else {
                let assigned = rd_kafka_assign(rk, list)
                if assigned != RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.error("kafka assign failed: \(String(cString: rd_kafka_err2str(assigned)))")
                }
            }
            logger.info("partitions assigned", metadata: ["kafka.partitions": "\(partitions.map(\.description))"])
            listener.partitionsAssigned(partitions)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(rk) != 0
            let offsets = listener.partitionsRevoked(partitions, lost: lost)
            if !lost, !offsets.isEmpty {
                do {
                    try commitSync(rk: rk, offsets: offsets)
                } catch {
                    // Real Kafka accepts commits in the revoke callback; librdkafka's mock refuses every commit
                    // during a rebalance. Either way the new owner resumes from the last commit: replays, no gap.
                    logger.warning("commit on revoke failed; the new owner will replay from the last commit: \(error)")
                }
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, list) {
                    logger.error("kafka incremental unassign failed: \(String(cString: rd_kafka_error_string(error)))")
                    rd_kafka_error_destroy(error)
                }
            } else {
                _ = rd_kafka_assign(rk, nil)
            }
            logger.info("partitions revoked", metadata: [
                "kafka.partitions": "\(partitions.map(\.description))", "kafka.lost": "\(lost)",
            ])
        default:
            logger.error("kafka rebalance error: \(String(cString: rd_kafka_err2str(err)))")
            _ = rd_kafka_assign(rk, nil)
        }
    }

    private static func copy(_ raw: UnsafeMutablePointer<rd_kafka_message_t>, topicNames: TopicNameCache) -> KafkaMessage {
        let message = raw.pointee
        let topic = topicNames.name(of: message.rkt)
        let key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        let value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) }
        var headers: [KafkaHeader] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(raw, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePointer: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(hdrs, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(KafkaHeader(
                    name: name.map { String(cString: $0) } ?? "",
                    value: valuePointer.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                ))
                index += 1
            }
        }
        return KafkaMessage(topic: topic, partition: message.partition, offset: message.offset, key: key,
                            value: value, headers: headers)
    }
}

/// Topic names by librdkafka topic handle, so a `String` is built once per topic rather than once per message.
/// Only touched on the poll queue.
private final class TopicNameCache: @unchecked Sendable {
    // @unchecked Sendable: used only from the consumer's serial poll queue.
    private var names: [OpaquePointer: String] = [:]

    func name(of rkt: OpaquePointer?) -> String {
        guard let rkt else { return "" }
        if let name = names[rkt] { return name }
        let name = String(cString: rd_kafka_topic_name(rkt))
        names[rkt] = name
        return name
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

/// Runs a blocking closure on `queue` and resumes the caller exactly once with its result.
func onQueue<T: Sendable>(_ queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        queue.async {
            continuation.resume(with: Result { try body() })
        }
    }
}
