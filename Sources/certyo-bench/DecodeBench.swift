import CDCCore

#if canImport(Glibc)
import Glibc
#endif

/// (c) decode + canonicalise + encode, in process, on one thread: no Kafka, no HTTP.
enum DecodeBench {
    struct Result: Sendable {
        var shape: EnvelopeShape
        var records: Int
        var envelopeBytes: Int
        /// Thread CPU seconds (what one core delivers, whatever else runs on the machine).
        var cpuSeconds: Double
        var wallSeconds: Double
        var recordsPerCPUSecond: Double { Double(records) / cpuSeconds }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Decodes `records` envelopes of `shape` (cycling through `distinct` different ones), appending each record
    /// to a bulk body as the pipeline does (`CertyoRecord.appendJSON`), 1 000 records a body.
    static func run(shape: EnvelopeShape, records: Int, distinct: Int = 10_000) throws -> Result {
        let messages = (0..<min(distinct, records)).map { index in
            SourceMessage(
                topic: EnvelopeShape.topic, partition: 0, offset: Int64(index), key: shape.key(id: index + 1),
                value: shape.value(id: index + 1),
                headers: EnvelopeShape.headers.map { .init(name: $0.0, value: Array($0.1.utf8)) })
        }
        let envelopeBytes = messages.reduce(0) { $0 + ($1.value?.count ?? 0) } / messages.count
        var configuration = DebeziumDecoder.Configuration()
        configuration.database = nil
        var decoder = DebeziumDecoder(
            configuration: configuration,
            catalog: ColumnCatalog(tables: [TableName(schema: "public", table: "products"): EnvelopeShape.productsColumns]))

        // Warm up (plans, caches) and check that every envelope becomes a record.
        for message in messages.prefix(100) {
            guard case .record = decoder.decode(message) else {
                throw Failure(description: "a \(shape.label) benchmark envelope did not decode to a record: \(decoder.decode(message))")
            }
        }
        var body: [UInt8] = []
        body.reserveCapacity(1000 * (envelopeBytes + 512))
        var inBody = 0
        var checksum = 0
        let cpuStart = threadCPUSeconds()
        let wallStart = ContinuousClock.now
        var index = 0
        for _ in 0..<records {
            if case .record(let record) = decoder.decode(messages[index]) {
                if inBody == 0 { body.append(UInt8(ascii: "[")) } else { body.append(UInt8(ascii: ",")) }
                record.appendJSON(to: &body, tenantId: "bench-tenant")
                inBody += 1
                if inBody == 1000 {
                    body.append(UInt8(ascii: "]"))
                    checksum &+= body.count
                    body.removeAll(keepingCapacity: true)
                    inBody = 0
                }
            }
            index += 1
            if index == messages.count { index = 0 }
        }
        let cpu = threadCPUSeconds() - cpuStart
        let wall = (ContinuousClock.now - wallStart).seconds
        guard checksum &+ body.count > 0 else { throw Failure(description: "nothing was encoded") }
        return Result(shape: shape, records: records, envelopeBytes: envelopeBytes, cpuSeconds: cpu, wallSeconds: wall)
    }

    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
