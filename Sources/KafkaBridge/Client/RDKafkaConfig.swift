import CRdKafka

/// Owns an `rd_kafka_conf_t` until `rd_kafka_new` takes it over.
///
/// librdkafka properties cross exactly this one dictionary boundary: `rd_kafka_conf_set` validates each one and
/// its error names the offending key, so a mistake surfaces at startup.
final class RDKafkaConfig {
    private var pointer: OpaquePointer?

    /// Builds a configuration from `properties`, applied in key order (deterministic errors).
    /// - Throws: A ``KafkaError`` with code `.configuration` naming the key librdkafka rejected.
    init(properties: [String: String]) throws {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .configuration, message: "rd_kafka_conf_new returned NULL")
        }
        self.pointer = conf
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            try set(key, value)
        }
    }

    deinit {
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }

    func set(_ key: String, _ value: String) throws {
        guard let pointer else { preconditionFailure("RDKafkaConfig used after hand-over") }
        var errstr = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(pointer, key, value, &errstr, errstr.count)
        guard result == RD_KAFKA_CONF_OK else {
            let detail = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(
                code: .configuration,
                message: "librdkafka property '\(key)' rejected: \(detail)"
            )
        }
    }

    /// Gives the conf to a C call that takes ownership of it on success (`rd_kafka_new`).
    /// - Important: The pointer must not escape `body`; on success `body` returns true and ownership has moved.
    func handOver(_ body: (OpaquePointer) -> Bool) {
        guard let pointer else { preconditionFailure("RDKafkaConfig handed over twice") }
        if body(pointer) { self.pointer = nil }
    }

    /// Access for setters that take the raw conf (callbacks, opaque).
    /// - Important: The pointer must not escape `body`.
    func withPointer<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        guard let pointer else { preconditionFailure("RDKafkaConfig used after hand-over") }
        return try body(pointer)
    }
}
