import ArgumentParser
import CDCCore
import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import KafkaBridge
import Logging
import ServiceLifecycle
import Synchronization

/// `certyo-cdc demo`: the whole path on one machine, with nothing to set up. Starts librdkafka's mock Kafka and the
/// Certyo emulator in-process, feeds the real Debezium envelopes shipped with certyo-cdc, runs the pipeline until
/// every offset is committed, replays the topics under a second group to show that replays are harmless, waits for
/// the emulator to anchor, and prints a summary.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run mock Kafka + the Certyo emulator + certyo-cdc on the shipped Debezium envelopes."
    )

    @Option(help: "Partitions per topic.") var partitions = 3
    @Option(help: "Log level of certyo-cdc's own log lines (stderr).") var logLevel = "warning"

    func run() async throws {
        bootstrapLogging(level: Logger.Level(rawValue: logLevel) ?? .warning)
        let logger = Logger(label: "certyo-cdc.demo")
        func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

        guard let url = Bundle.module.url(forResource: "demo-envelopes", withExtension: "jsonl") else {
            throw ValidationError("the demo envelopes are missing from the build (Resources/demo-envelopes.jsonl)")
        }
        let envelopes = try DemoEnvelopes.load(url)
        say("certyo-cdc demo: \(envelopes.count) real Debezium 3.6 envelopes (JSON with schemas) from PostgreSQL 15")

        let cluster = try KafkaMockCluster()
        let topics = Set(envelopes.map(\.topic)).sorted()
        for topic in topics { try cluster.createTopic(topic, partitions: partitions) }
        try cluster.createTopic("certyo-cdc.dlq", partitions: 1)
        say("mock Kafka on \(cluster.bootstrapServers): \(topics.joined(separator: ", ")) (\(partitions) partitions each)")

        var producerConfiguration = KafkaProducerConfiguration()
        producerConfiguration.bootstrapServers = cluster.bootstrapServers
        producerConfiguration.additionalProperties = ["partitioner": "murmur2_random"]  // where Kafka Connect puts keys
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let reports = try await producer.send(envelopes.map {
            OutgoingMessage(topic: $0.topic, key: $0.key, value: $0.value, headers: $0.headers)
        })
        var endOffsets: [TopicPartition: Int64] = [:]
        for (envelope, report) in zip(envelopes, reports) {
            let tp = TopicPartition(topic: envelope.topic, partition: report.partition)
            endOffsets[tp] = max(endOffsets[tp] ?? 0, report.offset + 1)
        }

        var emulatorConfiguration = EmulatorConfiguration()
        emulatorConfiguration.apiKeys = ["cty_demo_0000000000000000": "demo-tenant"]
        emulatorConfiguration.accumulateInterval = .seconds(1)
        emulatorConfiguration.anchorDelay = .seconds(2)
        try await withCertyoEmulator(configuration: emulatorConfiguration, logger: logger) { emulator in
            say("Certyo emulator on \(emulator.baseURL) (accumulates 1 s, anchors 2 s later)")
            var certyo = CertyoClient.Configuration(
                baseURL: emulator.baseURL, apiKey: CertyoAPIKey("cty_demo_0000000000000000"), tenantId: "demo-tenant"
            )
            certyo.requestTimeout = .seconds(10)
            try await withCertyoClient(configuration: certyo, logger: logger) { client in
                let accepted = RecordingSink(CertyoBatchSink(client: client))
                let first = try await runPipeline(group: "certyo-cdc-demo", cluster: cluster, sink: accepted,
                                                  producer: producer, endOffsets: endOffsets, logger: logger, say: say)
                say("replaying every topic under a new consumer group (as after a crash before a commit)...")
                let replay = try await runPipeline(group: "certyo-cdc-demo-replay", cluster: cluster,
                                                   sink: CertyoBatchSink(client: client),
                                                   producer: producer, endOffsets: endOffsets, logger: logger, say: say)

                say("waiting for the emulator to anchor...")
                let anchored = try await waitForAnchoring(accepted.records, client: client, say: say)
                let counters = await emulator.counters()
                let committedAll = first.committed == endOffsets && replay.committed == endOffsets
                say("")
                say("summary")
                say("  consumed       \(first.consumed)")
                say("  ingested       \(first.ingested) (accepted by Certyo with HTTP 202, \(first.batches) bulk calls)")
                say("  skipped        \(first.skipped) (tombstones and the TRUNCATE, which has no row)")
                say("  dead-lettered  \(first.deadLettered) (to certyo-cdc.dlq, with the reason)")
                say("  replays        \(replay.replayed) of \(replay.ingested) re-sent records answered as replays; Certyo stored \(counters.recordsStored) records once each")
                say("  committed      \(committedAll ? "= end offsets on every partition" : "NOT at the end offsets: \(first.committed)")")
                say("  anchored       \(anchored.anchored) of \(anchored.checked) records verified on chain with a valid Merkle proof")
                guard committedAll, anchored.anchored == anchored.checked else { throw ExitCode(1) }
            }
        }
        try await producer.close()
    }

    private func runPipeline(
        group: String, cluster: KafkaMockCluster, sink: any BatchSink, producer: KafkaProducer,
        endOffsets: [TopicPartition: Int64], logger: Logger, say: (String) -> Void
    ) async throws -> PipelineCounts {
        var configuration = PipelineConfiguration()
        configuration.consumer.bootstrapServers = cluster.bootstrapServers
        configuration.consumer.groupID = group
        configuration.consumer.additionalProperties = [
            "session.timeout.ms": "3500", "heartbeat.interval.ms": "300", "max.poll.interval.ms": "10000",
            "fetch.wait.max.ms": "10",
        ]
        configuration.batching.linger = .milliseconds(100)
        let statistics = PipelineStatistics()
        let pipeline = PipelineService(
            configuration: configuration, decoder: DebeziumChangeDecoder(decoder: DebeziumDecoder()),
            sink: sink,
            deadLetters: KafkaDeadLetterSink(topic: "certyo-cdc.dlq", producer: producer),
            statistics: statistics, logger: logger
        )
        let serviceGroup = ServiceGroup(services: [pipeline], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await serviceGroup.run() }
            let start = ContinuousClock.now
            var lastLine = ""
            while statistics.snapshot.committed != endOffsets {
                let counts = statistics.snapshot
                let line = "  [\(group)] consumed \(counts.consumed), ingested \(counts.ingested), skipped \(counts.skipped), dead-lettered \(counts.deadLettered), committed \(counts.committed.values.reduce(0, +))/\(endOffsets.values.reduce(0, +))"
                if line != lastLine { say(line); lastLine = line }
                if ContinuousClock.now - start > .seconds(60) {
                    say("  timed out waiting for every offset to be committed")
                    break
                }
                try await Task.sleep(for: .milliseconds(250))
            }
            await serviceGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let counts = statistics.snapshot
        say("  [\(group)] done: consumed \(counts.consumed), ingested \(counts.ingested), committed \(counts.committed.values.reduce(0, +)) offsets")
        return counts
    }

    /// Asks Certyo about every accepted record until all are anchored (or 30 s pass), and checks each Merkle proof
    /// itself, from the record's own hash up to the anchored root.
    private func waitForAnchoring(
        _ records: [CertyoRecord], client: CertyoClient, say: (String) -> Void
    ) async throws -> (anchored: Int, checked: Int) {
        var pending = records
        var anchored = 0
        let start = ContinuousClock.now
        while !pending.isEmpty, ContinuousClock.now - start < .seconds(30) {
            var stillPending: [CertyoRecord] = []
            for record in pending {
                let answer = try await client.verify(database: record.database, collection: record.collection,
                                                     recordId: record.recordId, recordHash: record.recordHash)
                guard answer.anchoredOnChain, let root = answer.merkleRoot.flatMap(PrefixedSHA256.bytes),
                    let leaf = PrefixedSHA256.bytes(record.recordHash)
                else {
                    stillPending.append(record)
                    continue
                }
                let proof = MerkleProof(steps: answer.merkleProof.compactMap { step in
                    PrefixedSHA256.bytes(step.hash).map {
                        MerkleProof.Step(position: step.position == .left ? .left : .right, hash: $0)
                    }
                })
                if proof.verifies(leaf: leaf, root: root) {
                    anchored += 1
                } else {
                    say("  \(record.collection) \(record.recordId): the Merkle proof does NOT lead to the anchored root")
                }
            }
            pending = stillPending
            if !pending.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        }
        return (anchored, records.count)
    }
}

/// Remembers every record Certyo accepted, so the demo can verify them afterwards.
final class RecordingSink: BatchSink {
    private let inner: any BatchSink
    private let accepted = Mutex<[CertyoRecord]>([])

    init(_ inner: any BatchSink) { self.inner = inner }

    var records: [CertyoRecord] { accepted.withLock { $0 } }

    func ingest(_ records: [CertyoRecord]) async throws -> BatchReceipt {
        let receipt = try await inner.ingest(records)
        accepted.withLock { $0 += records }
        return receipt
    }

    func classify(_ error: any Error) -> FailureDisposition {
        inner.classify(error)
    }
}

/// The demo's envelopes: the shipped Debezium capture, one Kafka record per line
/// (`{"seq":..,"topic":..,"key":"<text>|null","value":"<text>|null","headers":[{"key":..,"value":..}]}`).
struct DemoEnvelopes {
    struct Envelope {
        var topic: String
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [KafkaHeader]
    }

    static func load(_ url: URL) throws -> [Envelope] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let topic = object["topic"] as? String
            else { throw ValidationError("a demo envelope line is not a Kafka record object") }
            let headers = (object["headers"] as? [[String: Any]] ?? []).map {
                KafkaHeader(name: $0["key"] as? String ?? "", value: ($0["value"] as? String).map { Array($0.utf8) })
            }
            return Envelope(topic: topic, key: (object["key"] as? String).map { Array($0.utf8) },
                            value: (object["value"] as? String).map { Array($0.utf8) }, headers: headers)
        }
    }
}
