import CDCCore
import KafkaBridge

/// One record that certyo-cdc will not send to Certyo, with why.
public struct DeadLetter: Sendable {
    public var source: KafkaMessage
    /// Machine-readable reason code (`malformed_envelope`, `toast_placeholder`, `invalid_record`, ...).
    public var reason: String
    /// One line for a person: what, where, and the fix.
    public var message: String
    /// The HTTP status Certyo answered, when the record was rejected by Certyo.
    public var httpStatus: Int?
    /// Certyo's error code, when it rejected the record.
    public var errorCode: String?

    public init(source: KafkaMessage, reason: String, message: String, httpStatus: Int? = nil, errorCode: String? = nil) {
        self.source = source
        self.reason = reason
        self.message = message
        self.httpStatus = httpStatus
        self.errorCode = errorCode
    }
}

/// Where dead letters are written. A record's offset is committed past only after ``write(_:)`` returned.
public protocol DeadLetterSink: Sendable {
    func write(_ deadLetter: DeadLetter) async throws
}

/// Writes dead letters to a Kafka topic: the original key and value bytes, the original headers, and
/// `certyo.dlq.*` headers naming the source topic, partition, offset, reason, HTTP status and error code.
public struct KafkaDeadLetterSink: DeadLetterSink {
    public let topic: String
    private let producer: KafkaProducer

    public init(topic: String, producer: KafkaProducer) {
        self.topic = topic
        self.producer = producer
    }

    public func write(_ deadLetter: DeadLetter) async throws {
        let source = deadLetter.source
        var headers = source.headers
        func add(_ name: String, _ value: String?) {
            if let value { headers.append(KafkaHeader(name: "certyo.dlq.\(name)", value: Array(value.utf8))) }
        }
        add("topic", source.topic)
        add("partition", String(source.partition))
        add("offset", String(source.offset))
        add("reason", deadLetter.reason)
        add("message", deadLetter.message)
        add("http_status", deadLetter.httpStatus.map(String.init))
        add("error_code", deadLetter.errorCode)
        try await producer.send(OutgoingMessage(topic: topic, key: source.key, value: source.value, headers: headers))
    }
}
