import CDCCore
import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import KafkaBridge
import Logging
import ServiceLifecycle
import Testing

/// Settings every test consumer uses on librdkafka's mock (see `../shared/kafka-mock.md` as summarised in the README).
let mockConsumerProperties: [String: String] = [
    "session.timeout.ms": "3500", "heartbeat.interval.ms": "300", "max.poll.interval.ms": "10000",
    "fetch.wait.max.ms": "10",
]

/// A mock Kafka cluster, a Certyo emulator and a client, owned by one test.
struct PipelineHarness {
    static let apiKey = "cty_test_000000000000000000"
    static let tenant = "test-tenant"

    let cluster: KafkaMockCluster
    let emulator: RunningEmulator
    let client: CertyoClient
    let producer: KafkaProducer
    let topic: String
    let logger: Logger

    static func with(
        partitions: Int,
        emulator configureEmulator: (inout EmulatorConfiguration) -> Void = { _ in },
        _ body: (PipelineHarness) async throws -> Void
    ) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let cluster = try KafkaMockCluster()
        let topic = "certyo.public.t_\(UUID().uuidString.prefix(8).lowercased())"
        try cluster.createTopic(topic, partitions: partitions)
        var emulatorConfiguration = EmulatorConfiguration()
        emulatorConfiguration.apiKeys = [apiKey: tenant]
        configureEmulator(&emulatorConfiguration)
        try await withCertyoEmulator(configuration: emulatorConfiguration, logger: logger) { emulator in
            var configuration = CertyoClient.Configuration(baseURL: emulator.baseURL, apiKey: CertyoAPIKey(apiKey),
                                                           tenantId: tenant)
            configuration.requestTimeout = .seconds(5)
            try await withCertyoClient(configuration: configuration, logger: logger) { client in
                var producerConfiguration = KafkaProducerConfiguration()
                producerConfiguration.bootstrapServers = cluster.bootstrapServers
                let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
                let harness = PipelineHarness(cluster: cluster, emulator: emulator, client: client, producer: producer,
                                              topic: topic, logger: logger)
                try await body(harness)
                try await producer.close()
            }
        }
    }

    /// Produces `count` distinct Debezium insert envelopes for rows `first..<first+count` (real envelope shape, one
    /// LSN each), spread over the partitions by key. Returns the end offset of every partition written.
    func produceInserts(_ rows: Range<Int>) async throws -> [TopicPartition: Int64] {
        let template = try EnvelopeTemplate.orderLineCreate()
        let messages = rows.map { row in
            let (key, value) = template.envelope(orderID: row)
            return OutgoingMessage(topic: topic, key: key, value: value)
        }
        var end: [TopicPartition: Int64] = [:]
        for report in try await producer.send(messages) {
            let tp = TopicPartition(topic: topic, partition: report.partition)
            end[tp] = max(end[tp] ?? 0, report.offset + 1)
        }
        return end
    }

    func pipelineConfiguration(group: String) -> PipelineConfiguration {
        var configuration = PipelineConfiguration()
        configuration.consumer.bootstrapServers = cluster.bootstrapServers
        configuration.consumer.groupID = group
        configuration.consumer.topicPattern = "^" + NSRegularExpression.escapedPattern(for: topic)
        configuration.consumer.additionalProperties = mockConsumerProperties
        configuration.batching.linger = .milliseconds(50)
        configuration.batching.maxRecords = 100
        configuration.shutdownTimeout = .seconds(5)
        return configuration
    }

    /// Runs a pipeline until `stop` holds for its counts (checked as counts change), then shuts it down gracefully
    /// (or, with `graceful: false`, cancels it as a crash would).
    @discardableResult
    func runPipeline(
        group: String,
        configure: (inout PipelineConfiguration) -> Void = { _ in },
        graceful: Bool = true,
        deadline: Duration = .seconds(90),
        until stop: @escaping @Sendable (PipelineCounts) -> Bool
    ) async throws -> PipelineCounts {
        var configuration = pipelineConfiguration(group: group)
        configure(&configuration)
        let statistics = PipelineStatistics()
        let pipeline = PipelineService(
            configuration: configuration, decoder: DebeziumChangeDecoder(decoder: DebeziumDecoder()),
            sink: CertyoBatchSink(client: client),
            deadLetters: KafkaDeadLetterSink(topic: "certyo-cdc.dlq.\(group)", producer: producer),
            statistics: statistics, logger: logger
        )
        let serviceGroup = ServiceGroup(services: [pipeline], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await serviceGroup.run() }
            do {
                try await waitUntil(deadline: deadline) { stop(statistics.snapshot) }
            } catch let error as TimedOut {
                throw TimedOut(description: "\(error.description); pipeline counts: \(statistics.snapshot)")
            }
            if graceful {
                await serviceGroup.triggerGracefulShutdown()
                try await tasks.waitForAll()
            } else {
                tasks.cancelAll()
                try? await tasks.waitForAll()
            }
        }
        return statistics.snapshot
    }

    /// What the group has committed, read from outside the group (without joining it).
    func committed(group: String, partitions: [TopicPartition]) async throws -> [TopicPartition: Int64?] {
        var configuration = KafkaConsumerConfiguration()
        configuration.bootstrapServers = cluster.bootstrapServers
        configuration.groupID = group
        return try await KafkaConsumer.committedOffsets(of: partitions, configuration: configuration, logger: logger)
    }
}

struct NoRebalance: KafkaRebalanceListener {
    func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool) -> [TopicPartition: Int64] { [:] }
    func partitionsAssigned(_ partitions: [TopicPartition]) {}
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Waits for `condition`, re-checking every 20 ms, failing after `deadline`.
func waitUntil(deadline: Duration, _ condition: () async throws -> Bool) async throws {
    let start = ContinuousClock.now
    while try await !condition() {
        if ContinuousClock.now - start > deadline { throw TimedOut(description: "condition not met within \(deadline)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// A real Debezium insert envelope (JSON with schemas, decimal string mode) from the captured samples, with the
/// row key and the LSN varied so each generated event is a distinct change.
struct EnvelopeTemplate {
    let key: String
    let value: String

    static func orderLineCreate() throws -> EnvelopeTemplate {
        let url = try #require(Bundle.module.url(forResource: "order-line-create", withExtension: "jsonl",
                                                 subdirectory: "Fixtures"))
        let line = try Data(contentsOf: url)
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        return EnvelopeTemplate(key: try #require(object["key"] as? String),
                                value: try #require(object["value"] as? String))
    }

    func envelope(orderID: Int, note: String = "tx line 1") -> (key: [UInt8], value: [UInt8]) {
        let row = "\"order_id\":\(orderID),\"line_no\":1"
        let lsn = 26_713_240 + orderID * 8
        let key = key.replacingOccurrences(of: "\"order_id\":1001,\"line_no\":1", with: row)
        let value = value.replacingOccurrences(of: "\"order_id\":1001,\"line_no\":1", with: row)
            .replacingOccurrences(of: "\"note\":\"tx line 1\"", with: "\"note\":\"\(note)\"")
            .replacingOccurrences(of: "\"lsn\":26713240", with: "\"lsn\":\(lsn)")
            .replacingOccurrences(of: "[\\\"26713240\\\",\\\"26713240\\\"]", with: "[\\\"\(lsn)\\\",\\\"\(lsn)\\\"]")
        return (Array(key.utf8), Array(value.utf8))
    }
}

extension PipelineHarness {
    /// A pipeline running in the background until ``RunningPipeline/stop()``.
    struct RunningPipeline {
        let statistics: PipelineStatistics
        let serviceGroup: ServiceGroup
        let task: Task<Void, any Error>

        func stop() async throws {
            await serviceGroup.triggerGracefulShutdown()
            try await task.value
        }
    }

    func startPipeline(
        group: String,
        sink: (any BatchSink)? = nil,
        logger: Logger? = nil,
        configure: (inout PipelineConfiguration) -> Void = { _ in }
    ) -> RunningPipeline {
        var configuration = pipelineConfiguration(group: group)
        configure(&configuration)
        let statistics = PipelineStatistics()
        let pipeline = PipelineService(
            configuration: configuration, decoder: DebeziumChangeDecoder(decoder: DebeziumDecoder()),
            sink: sink ?? CertyoBatchSink(client: client),
            deadLetters: KafkaDeadLetterSink(topic: "certyo-cdc.dlq.\(group)", producer: producer),
            statistics: statistics, logger: logger ?? self.logger
        )
        let serviceGroup = ServiceGroup(services: [pipeline], logger: logger ?? self.logger)
        let task = Task { try await serviceGroup.run() }
        return RunningPipeline(statistics: statistics, serviceGroup: serviceGroup, task: task)
    }
}

extension PipelineHarness {
    /// Produces raw messages (keys and values as given) and returns the end offsets they reached.
    func produce(_ messages: [OutgoingMessage]) async throws -> [TopicPartition: Int64] {
        var end: [TopicPartition: Int64] = [:]
        for report in try await producer.send(messages) {
            let tp = TopicPartition(topic: topic, partition: report.partition)
            end[tp] = max(end[tp] ?? 0, report.offset + 1)
        }
        return end
    }

    /// Reads every message of `topic` (a dead-letter topic) through a fresh group until `count` arrived.
    func readAll(topic: String, count: Int) async throws -> [KafkaMessage] {
        var configuration = KafkaConsumerConfiguration()
        configuration.bootstrapServers = cluster.bootstrapServers
        configuration.groupID = "reader-\(UUID().uuidString)"
        configuration.topicPattern = "^" + NSRegularExpression.escapedPattern(for: topic) + "$"
        configuration.additionalProperties = mockConsumerProperties
        let reader = try KafkaConsumer(configuration: configuration, listener: NoRebalance(), logger: logger)
        var messages: [KafkaMessage] = []
        try await waitUntil(deadline: .seconds(20)) {
            messages += try await reader.poll()
            return messages.count >= count
        }
        try await reader.close()
        return messages
    }
}

extension KafkaMessage {
    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
    }
}
