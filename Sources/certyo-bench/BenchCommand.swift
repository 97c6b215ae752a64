import ArgumentParser
import Foundation
import KafkaBridge
import Logging
import NIOCore
import NIOPosix

/// `certyo-bench`: the throughput, memory and latency benchmark of issue #10 (run it through `scripts/bench.sh`).
///
/// For each envelope shape (schemas off ~1 kB, schemas on ~6 kB) it measures, in one run on one machine:
/// (a) the raw drain of the topic with a bare librdkafka consumer, (b) `certyo-cdc run` (a child process) end to
/// end from librdkafka's mock cluster into a minimal 202 sink, committing after every 202, (c) decode + canonicalise
/// + encode in process on one core, (d) certyo-cdc's peak RSS while it drains the backlog, and the commit latency
/// under a steady produce rate. It prints the figures, the ratios and which targets are met.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certyo-bench",
        abstract: "Benchmark certyo-cdc against the raw Kafka drain (see README, \"Performance\")."
    )

    @Option(help: "The certyo-cdc executable (default: next to this one).")
    var cdc: String?
    @Option(help: "Backlog of ~1 kB schemaless envelopes drained by (a), (b) and (d).")
    var schemalessRecords = 1_000_000
    @Option(help: "Backlog of ~6 kB schema-carrying envelopes (the mock keeps ~5 MB a partition).")
    var schemaRecords = 150_000
    @Option(help: "Partitions of the benchmark topic.")
    var partitions = 256
    @Option(help: "Records decoded in process by (c), per shape.")
    var decodeRecords = 500_000
    @Option(help: "Seconds of steady producing for the commit-latency phase (0: skip it).")
    var latencySeconds = 20
    @Option(help: "Records/s of the commit-latency phase.")
    var latencyRate = 5_000
    @Option(help: "certyo-cdc's batch linger in milliseconds (CERTYO_BATCH_LINGER).")
    var lingerMs = 200
    @Option(help: "libpq DSN of a database with public.products, for schemaless envelopes (default: $PG_DSN).")
    var pgDSN: String?
    @Option(help: "Where certyo-cdc's logs go.")
    var workDirectory = "/tmp/certyo-bench"
    @Option(help: "Shapes to run: schemaless, withSchemas (repeatable; default both).")
    var shape: [String] = []
    @Flag(help: "Print the SQL that creates the benchmark's table (for the catalog of schemaless envelopes), and exit.")
    var printDDL = false
    @Flag(help: "Run (c) only: decode in process, no Kafka, no certyo-cdc (for profiling, e.g. under callgrind).")
    var decodeOnly = false
    @Flag(help: "Skip (b), (d) and the commit latency: no certyo-cdc process (raw drain and decode only).")
    var noEndToEnd = false
    @Flag(help: "Small counts (a smoke test of the benchmark itself, ~1-2 min): targets are reported, not judged.")
    var quick = false

    func run() async throws {
        if printDDL {
            print(EnvelopeShape.productsDDL)
            return
        }
        var logger = Logger(label: "certyo-bench")
        logger.logLevel = .warning
        var settings = self
        if quick {
            settings.schemalessRecords = min(schemalessRecords, 10_000)
            settings.schemaRecords = min(schemaRecords, 5_000)
            settings.partitions = min(partitions, 16)
            settings.decodeRecords = min(decodeRecords, 20_000)
            settings.latencySeconds = min(latencySeconds, 2)
        }
        let shapes = try shape.isEmpty
            ? EnvelopeShape.allCases
            : shape.map { name in
                guard let found = EnvelopeShape(rawValue: name) else {
                    throw ValidationError("--shape \(name): use schemaless or withSchemas")
                }
                return found
            }
        if decodeOnly {
            let report = Report(quick: quick, lingerMs: lingerMs)
            var results: [Report.ShapeResult] = []
            for shape in shapes {
                var result = Report.ShapeResult(shape: shape)
                result.decode = try DecodeBench.run(shape: shape, records: settings.decodeRecords)
                results.append(result)
            }
            _ = report.summary(results)
            return
        }
        let executable = cdc ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("certyo-cdc").path
        guard noEndToEnd || FileManager.default.isExecutableFile(atPath: executable) else {
            throw ValidationError("--cdc: no certyo-cdc executable at \(executable); build it first (swift build -c release)")
        }
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        let dsn = pgDSN ?? ProcessInfo.processInfo.environment["PG_DSN"].flatMap { $0.isEmpty ? nil : $0 }

        let report = Report(quick: quick, lingerMs: lingerMs)
        report.header(settings: settings)
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let sink = try await MinimalSink.start(group: eventLoops)

        var results: [Report.ShapeResult] = []
        for shape in shapes {
            var result = Report.ShapeResult(shape: shape)
            let backlog = shape == .schemaless ? settings.schemalessRecords : settings.schemaRecords
            report.progress("\(shape.label): (c) decoding \(settings.decodeRecords) envelopes in process...")
            result.decode = try DecodeBench.run(shape: shape, records: settings.decodeRecords)

            let cluster = try KafkaMockCluster(logger: logger)
            try cluster.createTopic(EnvelopeShape.topic, partitions: settings.partitions)
            try cluster.createTopic("certyo-cdc.dlq", partitions: 1)
            var producerConfiguration = KafkaProducerConfiguration()
            producerConfiguration.bootstrapServers = cluster.bootstrapServers
            producerConfiguration.additionalProperties = ["linger.ms": "20", "batch.num.messages": "10000",
                                                          "queue.buffering.max.messages": "1000000"]
            let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
            report.progress("\(shape.label): producing a backlog of \(backlog) envelopes over \(settings.partitions) partitions...")
            let endOffsets = try await KafkaBenches.produceBacklog(
                shape: shape, count: backlog, partitions: settings.partitions, firstID: 1, producer: producer)
            result.backlog = backlog

            report.progress("\(shape.label): (a) raw drain with a bare librdkafka consumer...")
            result.raw = try await KafkaBenches.rawDrain(bootstrap: cluster.bootstrapServers, endOffsets: endOffsets,
                                                         logger: logger)

            if noEndToEnd {
                result.skipped = "--no-end-to-end"
            } else if shape == .schemaless, dsn == nil {
                result.skipped = "no PG_DSN (schemaless envelopes need the column catalog; scripts/bench.sh starts a throwaway PostgreSQL)"
            } else {
                report.progress("\(shape.label): (b) certyo-cdc end to end + (d) peak RSS"
                    + (settings.latencySeconds > 0 ? " + commit latency at \(settings.latencyRate)/s for \(settings.latencySeconds) s" : "") + "...")
                let child = KafkaBenches.ChildSettings(
                    executable: executable, sinkURL: "http://127.0.0.1:\(sink.port)", bootstrap: cluster.bootstrapServers,
                    postgresDSN: dsn, linger: .milliseconds(lingerMs),
                    logFile: "\(workDirectory)/certyo-cdc-\(shape.rawValue).log")
                result.endToEnd = try await KafkaBenches.endToEnd(
                    child: child, endOffsets: endOffsets, sink: sink,
                    latencyPhase: settings.latencySeconds > 0
                        ? (producer, shape, settings.latencyRate, settings.latencySeconds, backlog + 1) : nil,
                    logger: logger)
            }
            try await producer.close()
            withExtendedLifetime(cluster) {}  // the mock goes last, after every client of it
            results.append(result)
            report.shapeDone(result)
        }
        try await sink.stop()
        try await eventLoops.shutdownGracefully()
        let allMet = report.summary(results)
        if !quick, !allMet { throw ExitCode(3) }
    }
}
