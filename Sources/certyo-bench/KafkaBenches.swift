import Foundation
import KafkaBridge
import Logging
import Synchronization

/// (a) the raw drain, (b) certyo-cdc end to end, (d) its peak RSS, and the commit latency at a steady rate.
enum KafkaBenches {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Consumer settings for librdkafka's mock cluster (the same as the integration tests').
    static let mockConsumerProperties = [
        "session.timeout.ms": "3500", "heartbeat.interval.ms": "300", "max.poll.interval.ms": "10000",
        "fetch.wait.max.ms": "10",
    ]

    // MARK: - Producing

    /// Produces `count` envelopes round-robin over `partitions` partitions of the benchmark topic.
    /// - Returns: The end offset (next offset) of each partition.
    static func produceBacklog(
        shape: EnvelopeShape, count: Int, partitions: Int, firstID: Int, producer: KafkaProducer
    ) async throws -> [TopicPartition: Int64] {
        var endOffsets: [TopicPartition: Int64] = [:]
        let chunk = 20_000
        var next = 0
        while next < count {
            let upper = min(count, next + chunk)
            let messages = (next..<upper).map { index in
                OutgoingMessage(
                    topic: EnvelopeShape.topic, partition: Int32(index % partitions), key: shape.key(id: firstID + index),
                    value: shape.value(id: firstID + index),
                    headers: EnvelopeShape.headers.map { KafkaHeader(name: $0.0, value: Array($0.1.utf8)) })
            }
            for report in try await producer.send(messages) {
                let tp = TopicPartition(topic: EnvelopeShape.topic, partition: report.partition)
                endOffsets[tp] = max(endOffsets[tp] ?? 0, report.offset + 1)
            }
            next = upper
        }
        return endOffsets
    }

    // MARK: - (a) raw drain

    struct Rate: Sendable {
        var records: Int
        /// From the consumer's creation to the last record.
        var totalSeconds: Double
        /// Records/s between 10% and 90% of the records (group join and the tail left out).
        var steadyRate: Double
    }

    private struct NoRebalance: KafkaRebalanceListener {
        func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool) -> [TopicPartition: Int64] { [:] }
        func partitionsAssigned(_ partitions: [TopicPartition]) {}
    }

    /// Reads every record up to `endOffsets` with a bare consumer (librdkafka through KafkaBridge, nothing else):
    /// the practical limit of broker + client on this machine.
    static func rawDrain(bootstrap: String, endOffsets: [TopicPartition: Int64], logger: Logger) async throws -> Rate {
        var configuration = KafkaConsumerConfiguration()
        configuration.bootstrapServers = bootstrap
        configuration.groupID = "bench-raw-\(UUID().uuidString)"
        configuration.topicPattern = "^" + NSRegularExpression.escapedPattern(for: EnvelopeShape.topic) + "$"
        configuration.additionalProperties = mockConsumerProperties
        let total = endOffsets.values.reduce(0) { $0 + Int($1) }
        let start = ContinuousClock.now
        let consumer = try KafkaConsumer(configuration: configuration, listener: NoRebalance(), logger: logger)
        var received = 0
        var bytes = 0
        var remaining = endOffsets.filter { $0.value > 0 }
        var tenPercent: ContinuousClock.Instant? = nil
        var ninetyPercent: ContinuousClock.Instant? = nil
        while !remaining.isEmpty {
            let messages = try await consumer.poll(maxMessages: 10_000)
            for message in messages {
                received += 1
                bytes &+= message.value?.count ?? 0
                if message.offset + 1 >= remaining[message.topicPartition] ?? .max {
                    remaining[message.topicPartition] = nil
                }
            }
            if tenPercent == nil, received >= total / 10 { tenPercent = .now }
            if ninetyPercent == nil, received >= total * 9 / 10 { ninetyPercent = .now }
            if ContinuousClock.now - start > .seconds(600) { throw Failure(description: "the raw drain took over 10 min") }
        }
        let end = ContinuousClock.now
        try await consumer.close()
        guard received >= total else {
            throw Failure(description: "the raw drain read \(received) of \(total) records (the mock dropped old segments: use more partitions)")
        }
        return Rate(records: received, totalSeconds: (end - start).seconds,
                    steadyRate: steadyRate(total: total, start: start, tenPercent: tenPercent,
                                           ninetyPercent: ninetyPercent, end: end))
    }

    /// Records/s between the 10% and 90% marks; the whole run's rate when that window is too short to time
    /// (small counts, where one poll or one commit covers it).
    static func steadyRate(
        total: Int, start: ContinuousClock.Instant, tenPercent: ContinuousClock.Instant?,
        ninetyPercent: ContinuousClock.Instant?, end: ContinuousClock.Instant
    ) -> Double {
        if let tenPercent, let ninetyPercent, (ninetyPercent - tenPercent) >= .milliseconds(200) {
            return Double(total * 8 / 10) / (ninetyPercent - tenPercent).seconds
        }
        return Double(total) / max((end - start).seconds, 0.001)
    }

    // MARK: - (b) end to end, (d) RSS, commit latency

    struct EndToEnd: Sendable {
        var rate: Rate
        var peakRSSBytes: Int
        var latency: Latency?
        var sinkRequests: Int
        var sinkRecords: Int
    }

    struct Latency: Sendable {
        var records: Int
        var targetRate: Int
        var achievedRate: Double
        var p50: Double
        var p99: Double
        var max: Double
    }

    struct ChildSettings: Sendable {
        var executable: String
        var sinkURL: String
        var bootstrap: String
        var postgresDSN: String?
        var linger: Duration
        var logFile: String
    }

    /// Starts `certyo-cdc run` against the mock and the sink, waits until every offset up to `endOffsets` is
    /// committed (after HTTP 202, as in production), then optionally produces at a steady rate and measures how long
    /// each record takes from produce to committed offset.
    static func endToEnd(
        child settings: ChildSettings, endOffsets: [TopicPartition: Int64], sink: MinimalSink,
        latencyPhase: (producer: KafkaProducer, shape: EnvelopeShape, rate: Int, seconds: Int, firstID: Int)?,
        logger: Logger
    ) async throws -> EndToEnd {
        let group = "bench-cdc-\(UUID().uuidString)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: settings.executable)
        process.arguments = ["run"]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CERTYO_") && $0.key != "PG_DSN" }
        environment["CERTYO_BASE_URL"] = settings.sinkURL
        environment["CERTYO_API_KEY"] = "cty_bench_0000000000000000"
        environment["CERTYO_TENANT_ID"] = "bench-tenant"
        environment["KAFKA_BOOTSTRAP_SERVERS"] = settings.bootstrap
        environment["CERTYO_GROUP_ID"] = group
        environment["CERTYO_TOPIC_PATTERN"] = "^" + NSRegularExpression.escapedPattern(for: EnvelopeShape.topic) + "$"
        environment["CERTYO_BATCH_LINGER"] = "\(Int(settings.linger.seconds * 1000))ms"
        environment["CERTYO_LOG_LEVEL"] = "warning"
        // CERTYO_BENCH_KAFKA_PROPERTIES (k=v,k=v) adds librdkafka properties for certyo-cdc only (tuning runs).
        let extra = ProcessInfo.processInfo.environment["CERTYO_BENCH_KAFKA_PROPERTIES"].map { [$0] } ?? []
        environment["KAFKA_PROPERTIES"] = (mockConsumerProperties.map { "\($0.key)=\($0.value)" } + extra)
            .joined(separator: ",")
        if let dsn = settings.postgresDSN { environment["PG_DSN"] = dsn }
        // Tuning runs: CERTYO_BENCH_CDC_<NAME>=v sets <NAME>=v for certyo-cdc (e.g. CERTYO_BENCH_CDC_CERTYO_MAX_IN_FLIGHT).
        for (key, value) in ProcessInfo.processInfo.environment where key.hasPrefix("CERTYO_BENCH_CDC_") {
            environment[String(key.dropFirst("CERTYO_BENCH_CDC_".count))] = value
        }
        process.environment = environment
        _ = FileManager.default.createFile(atPath: settings.logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: settings.logFile))
        process.standardOutput = log
        process.standardError = log

        var readerConfiguration = KafkaConsumerConfiguration()
        readerConfiguration.bootstrapServers = settings.bootstrap
        readerConfiguration.groupID = group
        let reader = try KafkaCommittedOffsetsReader(configuration: readerConfiguration, logger: logger)
        let partitions = endOffsets.keys.sorted()
        let total = endOffsets.values.reduce(0) { $0 + Int($1) }

        let start = ContinuousClock.now
        try process.run()
        let pid = process.processIdentifier
        defer {
            if process.isRunning { process.terminate(); process.waitUntilExit() }
            try? log.close()
        }
        let rss = RSSSampler(pid: pid)
        var tenPercent: ContinuousClock.Instant? = nil
        var ninetyPercent: ContinuousClock.Instant? = nil
        var committedTotal = 0
        while committedTotal < total {
            guard process.isRunning else {
                throw Failure(description: "certyo-cdc exited (status \(process.terminationStatus)); see \(settings.logFile)")
            }
            let committed = try await reader.read(partitions)
            committedTotal = committed.values.reduce(0) { $0 + Int(($1 ?? 0)) }
            if tenPercent == nil, committedTotal >= total / 10 { tenPercent = .now }
            if ninetyPercent == nil, committedTotal >= total * 9 / 10 { ninetyPercent = .now }
            rss.sample()
            if ContinuousClock.now - start > .seconds(900) {
                throw Failure(description: "certyo-cdc committed \(committedTotal) of \(total) in 15 min; see \(settings.logFile)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let end = ContinuousClock.now
        rss.sample()
        let rate = Rate(records: total, totalSeconds: (end - start).seconds,
                        steadyRate: steadyRate(total: total, start: start, tenPercent: tenPercent,
                                               ninetyPercent: ninetyPercent, end: end))

        var latency: Latency? = nil
        if let phase = latencyPhase {
            latency = try await measureLatency(
                producer: phase.producer, shape: phase.shape, rate: phase.rate, seconds: phase.seconds,
                firstID: phase.firstID, partitions: partitions, startOffsets: endOffsets, reader: reader,
                process: process, logFile: settings.logFile)
            rss.sample()
        }
        let peak = max(rss.peakRSS, rss.highWaterMark() ?? 0)
        process.interrupt()  // SIGINT: a graceful stop
        process.waitUntilExit()
        return EndToEnd(rate: rate, peakRSSBytes: peak, latency: latency,
                        sinkRequests: sink.counters.requests.load(ordering: .relaxed),
                        sinkRecords: sink.counters.records.load(ordering: .relaxed))
    }

    private final class SentLog: Sendable {
        let list = Mutex<[Sent]>([])
    }

    private struct Sent: Sendable {
        var partition: Int32
        var offset: Int64
        var at: ContinuousClock.Instant
    }

    /// Produces `rate` records/s for `seconds` seconds (in 10 ms slices), and polls the committed offsets every 5 ms:
    /// a record's latency is from the moment it was handed to the producer to the first poll that shows the
    /// committed offset past it (so the figures include up to one poll interval and one offset query).
    private static func measureLatency(
        producer: KafkaProducer, shape: EnvelopeShape, rate: Int, seconds: Int, firstID: Int,
        partitions: [TopicPartition], startOffsets: [TopicPartition: Int64], reader: KafkaCommittedOffsetsReader,
        process: Process, logFile: String
    ) async throws -> Latency {
        let sent = SentLog()
        let total = rate * seconds
        let partitionCount = partitions.count
        let started = ContinuousClock.now
        let producing = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var produced = 0
                var tick = 0
                while produced < total {
                    tick += 1
                    let due = min(total, rate * tick / 100)
                    let batch = (produced..<due).map { index in
                        OutgoingMessage(
                            topic: EnvelopeShape.topic, partition: Int32((firstID + index) % partitionCount),
                            key: shape.key(id: firstID + index), value: shape.value(id: firstID + index),
                            headers: EnvelopeShape.headers.map { KafkaHeader(name: $0.0, value: Array($0.1.utf8)) })
                    }
                    produced = due
                    let at = ContinuousClock.now
                    group.addTask {
                        let reports = try await producer.send(batch)
                        sent.list.withLock { list in
                            for report in reports {
                                list.append(Sent(partition: report.partition, offset: report.offset, at: at))
                            }
                        }
                    }
                    try await Task.sleep(until: started + .milliseconds(10 * tick), clock: .continuous)
                }
                try await group.waitForAll()
            }
            return (ContinuousClock.now - started).seconds
        }
        var latencies: [Double] = []
        latencies.reserveCapacity(total)
        var pending: [Sent] = []
        var lastProgress = ContinuousClock.now
        while latencies.count < total {
            guard process.isRunning else {
                throw Failure(description: "certyo-cdc exited during the latency phase; see \(logFile)")
            }
            let committed = try await reader.read(partitions)
            let now = ContinuousClock.now
            pending.append(contentsOf: sent.list.withLock { list in defer { list.removeAll() }; return list })
            let before = latencies.count
            pending.removeAll { record in
                let tp = TopicPartition(topic: EnvelopeShape.topic, partition: record.partition)
                guard let done = committed[tp] ?? nil, done > record.offset else { return false }
                latencies.append((now - record.at).seconds)
                return true
            }
            if latencies.count > before { lastProgress = now }
            if now - lastProgress > .seconds(30) {
                throw Failure(description: "no commit progress for 30 s in the latency phase; see \(logFile)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        let elapsed = try await producing.value  // until the last record was acknowledged by the broker
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return Latency(records: total, targetRate: rate, achievedRate: Double(total) / max(elapsed, Double(seconds)),
                       p50: percentile(0.50), p99: percentile(0.99), max: latencies.last ?? 0)
    }
}

/// Samples a process's resident set from `/proc/<pid>/status`.
final class RSSSampler: @unchecked Sendable {
    // @unchecked Sendable: used from one task at a time.
    private let pid: Int32
    private(set) var peakRSS = 0

    init(pid: Int32) { self.pid = pid }

    func sample() {
        if let rss = read("VmRSS:") { peakRSS = max(peakRSS, rss) }
    }

    /// The kernel's own peak (VmHWM): exact, whatever the sampling missed.
    func highWaterMark() -> Int? { read("VmHWM:") }

    private func read(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field) {
            // "VmRSS:\t  123456 kB"
            let kilobytes = line.dropFirst(field.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
                .flatMap { Int($0) }
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }
}
