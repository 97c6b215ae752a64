import CRdKafka

/// An error from Kafka or librdkafka, with the decision the caller has to make (``isRetriable``, ``isFatal``).
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: Hashable, Sendable {
            case configuration, clientCreation, subscription, poll, commit, assignment, produce, mockCluster, closed,
                query
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// A librdkafka property was rejected (unknown key or bad value).
        public static let configuration = Code(.configuration)
        /// `rd_kafka_new` failed.
        public static let clientCreation = Code(.clientCreation)
        /// Subscribing to the topic pattern failed.
        public static let subscription = Code(.subscription)
        /// A consumer poll returned an error.
        public static let poll = Code(.poll)
        /// An offset commit failed.
        public static let commit = Code(.commit)
        /// Assigning, pausing or resuming partitions failed.
        public static let assignment = Code(.assignment)
        /// Producing a message failed or its delivery report said so.
        public static let produce = Code(.produce)
        /// The mock cluster could not be created or changed.
        public static let mockCluster = Code(.mockCluster)
        /// The client was already closed.
        public static let closed = Code(.closed)
        /// A metadata or offset query failed.
        public static let query = Code(.query)

        public var description: String { String(describing: backing) }
    }

    public var code: Code
    /// librdkafka's error code (`rd_kafka_resp_err_t`), when there is one.
    public var rdKafkaCode: Int32?
    /// librdkafka's own message (`rd_kafka_err2str` or `errstr`), or ours.
    public var message: String
    /// The topic, partition and offset concerned, when known.
    public var topic: String?
    public var partition: Int32?
    public var offset: Int64?
    /// Whether the same call may succeed later (librdkafka's retriable flag or a transient code).
    public var isRetriable: Bool
    /// Whether the client is unusable from now on.
    public var isFatal: Bool
    public var file: String
    public var line: Int

    public init(
        code: Code,
        message: String,
        rdKafkaCode: Int32? = nil,
        topic: String? = nil,
        partition: Int32? = nil,
        offset: Int64? = nil,
        isRetriable: Bool = false,
        isFatal: Bool = false,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.rdKafkaCode = rdKafkaCode
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = "Kafka \(code): \(message)"
        if let topic {
            text += " [\(topic)"
            if let partition { text += "/\(partition)" }
            if let offset { text += "@\(offset)" }
            text += "]"
        }
        return text
    }
}

extension KafkaError {
    /// Turns a librdkafka response code into a ``KafkaError`` at the call site, with librdkafka's message.
    static func rdKafka(
        _ err: rd_kafka_resp_err_t,
        code: Code,
        context: String,
        topic: String? = nil,
        partition: Int32? = nil,
        file: String = #fileID,
        line: Int = #line
    ) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(err))
        let transient: Set<Int32> = Set([
            RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR__QUEUE_FULL,
            RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        ].map(\.rawValue))
        return KafkaError(
            code: code,
            message: "\(context): \(text)",
            rdKafkaCode: err.rawValue,
            topic: topic,
            partition: partition,
            isRetriable: transient.contains(err.rawValue),
            isFatal: err == RD_KAFKA_RESP_ERR__FATAL,
            file: file,
            line: line
        )
    }
}
