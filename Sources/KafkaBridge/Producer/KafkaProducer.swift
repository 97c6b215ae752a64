import CRdKafka
import Dispatch
import Logging
import Synchronization

/// Settings of the Kafka producer (the dead-letter writer, the demo's feeder).
public struct KafkaProducerConfiguration: Sendable {
    /// `bootstrap.servers`. Default: `127.0.0.1:9092`.
    public var bootstrapServers: String = "127.0.0.1:9092"
    /// Any other librdkafka property, validated at startup. Default: `acks=all`, `enable.idempotence=true`.
    public var additionalProperties: [String: String] = [:]

    public init() {}

    /// Consumer properties that also apply to the producer certyo-cdc runs beside it (security and networking).
    public static let sharedPropertyPrefixes = ["security.", "sasl.", "ssl.", "socket.", "broker.", "client.rack"]

    func rdKafkaProperties() -> [String: String] {
        var properties = [
            "bootstrap.servers": bootstrapServers,
            "client.id": "certyo-cdc",
            "acks": "all",
            "enable.idempotence": "true",
            "linger.ms": "5",
        ]
        properties.merge(additionalProperties) { _, new in new }
        return properties
    }
}

/// Where a produced message landed.
public struct DeliveryReport: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
}

/// A message to produce.
public struct OutgoingMessage: Sendable {
    public var topic: String
    /// `nil` lets the partitioner choose.
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// Resolves one produce call exactly once from librdkafka's delivery report callback.
final class DeliveryPromise: Sendable {
    private let continuation: Mutex<CheckedContinuation<DeliveryReport, any Error>?>

    init(_ continuation: CheckedContinuation<DeliveryReport, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resolve(_ result: Result<DeliveryReport, KafkaError>) {
        let pending = continuation.withLock { value -> CheckedContinuation<DeliveryReport, any Error>? in
            defer { value = nil }
            return value
        }
        pending?.resume(with: result.mapError { $0 as any Error })
    }
}

/// A producer whose ``send(_:)`` returns only once the broker acknowledged the message.
///
/// A dedicated queue serves delivery reports (`rd_kafka_poll`) until ``close()``.
public final class KafkaProducer: Sendable {
    private let client: RDKafkaClient
    private let pollQueue = DispatchQueue(label: "certyo-cdc.kafka.producer-poll")
    private let blockingQueue = DispatchQueue(label: "certyo-cdc.kafka.producer-blocking")
    private let stopped = StopFlag()
    private let pollLoopDone = DispatchSemaphore(value: 0)

    /// Creates the producer and starts serving delivery reports.
    /// - Throws: A ``KafkaError`` naming a rejected property.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws {
        let context = RDKafkaClientContext(logger: logger, rebalance: nil)
        client = try RDKafkaClient(kind: .producer, properties: configuration.rdKafkaProperties(), context: context)
        pollQueue.async { [client, stopped, pollLoopDone] in
            while !stopped.isSet {
                client.withPointer { _ = rd_kafka_poll($0, 100) }
            }
            pollLoopDone.signal()
        }
    }

    /// Produces `message` and waits for the broker's acknowledgement.
    /// - Returns: The partition and offset it was written at.
    /// - Throws: A ``KafkaError`` (`.produce`) when it could not be queued or its delivery failed.
    @discardableResult
    public func send(_ message: OutgoingMessage) async throws -> DeliveryReport {
        try await withCheckedThrowingContinuation { continuation in
            let promise = DeliveryPromise(continuation)
            if let error = enqueue(message, promise: promise) {
                promise.resolve(.failure(error))
            }
        }
    }

    /// Produces every message and waits until all were acknowledged.
    /// - Returns: The delivery reports in the order of `messages`.
    public func send(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport] {
        try await withThrowingTaskGroup(of: (Int, DeliveryReport).self) { group in
            for (index, message) in messages.enumerated() {
                group.addTask { (index, try await self.send(message)) }
            }
            var reports = [DeliveryReport?](repeating: nil, count: messages.count)
            for try await (index, report) in group { reports[index] = report }
            return reports.map { $0! }
        }
    }

    /// Waits until every queued message was delivered or failed, then stops the delivery-report loop.
    public func close(timeout: Duration = .seconds(30)) async throws {
        try await onQueue(blockingQueue) { [client, stopped, pollLoopDone] in
            let err = client.withPointer { rd_kafka_flush($0, Int32(timeout.milliseconds)) }
            stopped.set()
            pollLoopDone.wait()
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdKafka(err, code: .produce, context: "flushing the producer")
            }
        }
    }

    deinit {
        stopped.set()
    }

    private func enqueue(_ message: OutgoingMessage, promise: DeliveryPromise) -> KafkaError? {
        let opaque = Unmanaged.passRetained(promise).toOpaque()
        var headers: OpaquePointer? = nil
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                if let value = header.value {
                    _ = value.withUnsafeBytes { rd_kafka_header_add(headers, header.name, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, header.name, -1, nil, 0)
                }
            }
        }
        let partition = message.partition ?? certyo_rdk_partition_unassigned()
        let err = client.withPointer { rk in
            withOptionalBytes(message.key) { key in
                withOptionalBytes(message.value) { value in
                    certyo_rdk_produce(rk, message.topic, partition, key.baseAddress, key.count, value.baseAddress,
                                       value.count, headers, opaque)
                }
            }
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if let headers { rd_kafka_headers_destroy(headers) }
            Unmanaged<DeliveryPromise>.fromOpaque(opaque).release()
            return KafkaError.rdKafka(err, code: .produce, context: "queueing a message", topic: message.topic,
                                      partition: message.partition)
        }
        return nil
    }
}

private func withOptionalBytes<T>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> T) -> T {
    guard let bytes else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return bytes.withUnsafeBytes(body)
}

/// A flag the producer's delivery-report loop checks between polls.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
