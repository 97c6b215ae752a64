import Foundation
import KafkaBridge
import Logging
import Synchronization
import Testing

/// Settings every test consumer uses on librdkafka's mock (see the README's "Testing with the mock cluster").
let mockConsumerProperties: [String: String] = [
    "session.timeout.ms": "3500",
    "heartbeat.interval.ms": "300",
    "max.poll.interval.ms": "10000",
    "fetch.wait.max.ms": "10",
]

final class RecordingListener: KafkaRebalanceListener {
    let assigned = Mutex<[TopicPartition]>([])
    let revoked = Mutex<[TopicPartition]>([])
    let offsetsOnRevoke: @Sendable ([TopicPartition]) -> [TopicPartition: Int64]

    init(offsetsOnRevoke: @escaping @Sendable ([TopicPartition]) -> [TopicPartition: Int64] = { _ in [:] }) {
        self.offsetsOnRevoke = offsetsOnRevoke
    }

    func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool) -> [TopicPartition: Int64] {
        revoked.withLock { $0.append(contentsOf: partitions) }
        return offsetsOnRevoke(partitions)
    }

    func partitionsAssigned(_ partitions: [TopicPartition]) {
        assigned.withLock { $0.append(contentsOf: partitions) }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct KafkaConsumerTests {
    let logger = Logger(label: "test")

    @Test func unknownPropertyIsNamedAtStartup() throws {
        var configuration = KafkaConsumerConfiguration()
        configuration.additionalProperties = ["sesion.timeout.ms": "3500"]
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(configuration: configuration, listener: RecordingListener(), logger: logger)
        }
        #expect(error?.code == .configuration)
        #expect(error?.description.contains("'sesion.timeout.ms'") == true)
    }

    @Test func autoCommitCannotBeSwitchedOn() throws {
        var configuration = KafkaConsumerConfiguration()
        configuration.additionalProperties = ["enable.auto.commit": "true"]
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(configuration: configuration, listener: RecordingListener(), logger: logger)
        }
        #expect(error?.description.contains("enable.auto.commit") == true)
    }

    @Test func consumesEveryPartitionWithHeadersAndCommitsExplicitOffsets() async throws {
        let cluster = try KafkaMockCluster()
        let topic = "certyo.public.t\(UUID().uuidString.prefix(8).lowercased())"
        try cluster.createTopic(topic, partitions: 3)

        var producerConfiguration = KafkaProducerConfiguration()
        producerConfiguration.bootstrapServers = cluster.bootstrapServers
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let messages = (0..<30).map { index in
            OutgoingMessage(
                topic: topic, partition: Int32(index % 3), key: Array("k\(index)".utf8),
                value: index == 7 ? nil : Array("v\(index)".utf8),
                headers: [KafkaHeader(name: "h", value: Array("x\(index)".utf8)), KafkaHeader(name: "n", value: nil)]
            )
        }
        let reports = try await producer.send(messages)
        #expect(Set(reports.map(\.partition)) == [0, 1, 2])
        try await producer.close()

        var configuration = KafkaConsumerConfiguration()
        configuration.bootstrapServers = cluster.bootstrapServers
        configuration.groupID = "g-\(UUID().uuidString)"
        configuration.topicPattern = "^" + NSRegularExpression.escapedPattern(for: topic)
        configuration.additionalProperties = mockConsumerProperties
        let listener = RecordingListener()
        let consumer = try KafkaConsumer(configuration: configuration, listener: listener, logger: logger)

        var received: [KafkaMessage] = []
        while received.count < messages.count {
            received += try await consumer.poll()
        }
        #expect(received.count == 30)
        let seven = try #require(received.first { $0.key == Array("k7".utf8) })
        #expect(seven.value == nil)
        #expect(seven.headers == [KafkaHeader(name: "h", value: Array("x7".utf8)), KafkaHeader(name: "n", value: nil)])
        #expect(Set(listener.assigned.withLock { $0 }) == Set((0..<3).map { TopicPartition(topic: topic, partition: $0) }))

        // Commit only partition 0 up to offset 4 (the next offset to read is 5).
        let p0 = TopicPartition(topic: topic, partition: 0)
        try await consumer.commit([p0: 5])
        let committed = try await consumer.committed([p0, TopicPartition(topic: topic, partition: 1)])
        #expect(committed[p0] == .some(5))
        #expect(committed[TopicPartition(topic: topic, partition: 1)] == .some(nil))
        try await consumer.close()
    }
}
