import CRdKafka
import Logging

/// The Swift side that librdkafka's C callbacks reach through `rd_kafka_opaque`.
///
/// Lifetime: ``RDKafkaClient`` holds the only strong reference and passes an *unretained* pointer to librdkafka as
/// the conf opaque. The client's `deinit` runs `rd_kafka_destroy` (which joins every librdkafka thread, so no
/// callback runs afterwards) before its stored properties, this context included, are released.
final class RDKafkaClientContext: @unchecked Sendable {
    // @unchecked Sendable: every property is a `let` of a Sendable type; librdkafka may call in from its own threads.
    let logger: Logger
    /// Called on the consumer's poll thread, inside `rd_kafka_consumer_poll`.
    let rebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?

    init(
        logger: Logger,
        rebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    ) {
        self.logger = logger
        self.rebalance = rebalance
    }

    static func from(_ rk: OpaquePointer?) -> RDKafkaClientContext? {
        guard let rk, let opaque = rd_kafka_opaque(rk) else { return nil }
        return Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Owns one `rd_kafka_t` (consumer or producer).
final class RDKafkaClient: @unchecked Sendable {
    // @unchecked Sendable: librdkafka's rd_kafka_t is thread-safe for every call made through this class
    // (poll calls are additionally serialised by their owner's queue).
    enum Kind { case consumer, producer }

    private let pointer: OpaquePointer
    let context: RDKafkaClientContext

    /// Creates the client. librdkafka logs and errors are routed to `context.logger`.
    /// - Throws: A ``KafkaError`` naming the rejected property, or `.clientCreation` with librdkafka's message.
    init(kind: Kind, properties: [String: String], context: RDKafkaClientContext) throws {
        let config = try RDKafkaConfig(properties: properties)
        config.withPointer { conf in
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
            rd_kafka_conf_set_log_cb(conf, certyoRDKafkaLog)
            rd_kafka_conf_set_error_cb(conf, certyoRDKafkaErrorCallback)
            if context.rebalance != nil {
                rd_kafka_conf_set_rebalance_cb(conf, certyoRDKafkaRebalance)
            }
            if kind == .producer {
                rd_kafka_conf_set_dr_msg_cb(conf, certyoRDKafkaDelivery)
            }
        }
        var errstr = [CChar](repeating: 0, count: 512)
        var created: OpaquePointer?
        config.handOver { conf in
            created = rd_kafka_new(kind == .consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, &errstr, errstr.count)
            return created != nil
        }
        guard let created else {
            let detail = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(code: .clientCreation, message: "rd_kafka_new failed: \(detail)")
        }
        self.pointer = created
        self.context = context
    }

    deinit {
        rd_kafka_destroy(pointer)
    }

    /// Access to the handle for a C call.
    /// - Important: The pointer must not escape `body`.
    func withPointer<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        try body(pointer)
    }
}

// MARK: - C callbacks

private func certyoRDKafkaLog(_ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?,
                              _ buf: UnsafePointer<CChar>?) {
    guard let context = RDKafkaClientContext.from(rk) else { return }
    let logLevel: Logger.Level
    switch level {
    case 0...3: logLevel = .error
    case 4: logLevel = .warning
    case 5, 6: logLevel = .info
    default: logLevel = .debug
    }
    let message = buf.map { String(cString: $0) } ?? ""
    let fac = facility.map { String(cString: $0) } ?? ""
    context.logger.log(level: logLevel, "librdkafka: \(message)", metadata: ["kafka.facility": "\(fac)"])
}

private func certyoRDKafkaErrorCallback(_ rk: OpaquePointer?, _ err: Int32, _ reason: UnsafePointer<CChar>?,
                                        _ opaque: UnsafeMutableRawPointer?) {
    guard let context = RDKafkaClientContext.from(rk) else { return }
    let text = reason.map { String(cString: $0) } ?? ""
    let code = rd_kafka_resp_err_t(rawValue: err)
    // Broker-down and transport errors are retried by librdkafka itself; they are warnings until they last.
    let level: Logger.Level = code == RD_KAFKA_RESP_ERR__FATAL ? .critical : .warning
    context.logger.log(level: level, "kafka client error: \(text)", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(code)))"])
}

private func certyoRDKafkaRebalance(_ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t,
                                    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                                    _ opaque: UnsafeMutableRawPointer?) {
    guard let rk, let partitions, let context = RDKafkaClientContext.from(rk), let rebalance = context.rebalance else {
        return
    }
    rebalance(rk, err, partitions)
}

private func certyoRDKafkaDelivery(_ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?,
                                   _ opaque: UnsafeMutableRawPointer?) {
    guard let message, let promiseRaw = message.pointee._private else { return }
    let promise = Unmanaged<DeliveryPromise>.fromOpaque(promiseRaw).takeRetainedValue()
    let err = message.pointee.err
    if err == RD_KAFKA_RESP_ERR_NO_ERROR {
        promise.resolve(.success(DeliveryReport(partition: message.pointee.partition, offset: message.pointee.offset)))
    } else {
        promise.resolve(.failure(KafkaError.rdKafka(err, code: .produce, context: "delivery failed",
                                                    partition: message.pointee.partition)))
    }
}
