import CertyoEmulator
import Foundation
import KafkaBridge
import Logging
import PostgresBridge
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Support for the chaos suites: real `certyo-cdc run` child processes against a mock Kafka cluster and a Certyo
// emulator hosted by the test process, fed with compact schemaless envelopes whose column types come from a table
// in the test PostgreSQL.

extension Trait where Self == ConditionTrait {
    /// The chaos suites send schemaless envelopes, whose column types come from the test PostgreSQL (with-schema
    /// envelopes are ~5 kB, too large for 50 000 records in the mock's ~5 MiB per partition); without it they are
    /// skipped, saying why.
    static var needsTestPostgres: Self {
        .enabled(
            if: PostgresTestEnvironment.isConfigured,
            "CDC_POSTGRES_HOST/PASSWORD unset: the chaos suites need PostgreSQL for the column types of schemaless envelopes; start it with scripts/test-postgres.sh start and export its output"
        )
    }
}

/// One `certyo-cdc run` child process, its output captured in a file.
final class CDCProcess: @unchecked Sendable {
    // @unchecked Sendable: `Process` is only started once (in init) and then only queried or signalled; its
    // termination properties are read after `isRunning` turned false.
    let name: String
    private let process: Process
    let logURL: URL

    /// The `certyo-cdc` executable: `$CERTYO_CDC_BIN` (scripts/test.sh sets it from `swift build --show-bin-path`),
    /// else next to this test bundle's resources in the build directory (`swift build --build-tests` builds both).
    static func executableURL() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["CERTYO_CDC_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var candidates: [URL] = [
            Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("certyo-cdc"),
        ]
        if let argument = CommandLine.arguments.first {
            var directory = URL(fileURLWithPath: argument).deletingLastPathComponent()
            // macOS: .build/debug/X.xctest/Contents/MacOS/X
            for _ in 0..<4 {
                candidates.append(directory.appendingPathComponent("certyo-cdc"))
                directory = directory.deletingLastPathComponent()
            }
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw ChaosError("certyo-cdc executable not found (tried \(candidates.map(\.path))); build it with "
                + "`swift build --build-tests` or set CERTYO_CDC_BIN")
        }
        return found
    }

    /// Starts `certyo-cdc run` with exactly `settings` as its certyo-cdc environment (nothing inherited from the
    /// test's own CERTYO_*/KAFKA_*/PG_DSN variables).
    init(name: String, settings: [String: String]) throws {
        self.name = name
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("chaos-\(name)-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: logURL)
        process = Process()
        process.executableURL = try Self.executableURL()
        process.arguments = ["run"]
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !key.hasPrefix("CERTYO_") && !key.hasPrefix("KAFKA_") && key != "PG_DSN"
        }
        environment.merge(settings) { _, new in new }
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try output.close()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Sends `signal` (SIGKILL, SIGTERM, SIGINT) to the child.
    func send(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits until the child has exited, at most `deadline`, and returns how it ended.
    @discardableResult
    func waitForExit(within deadline: Duration) async throws -> Termination {
        do {
            try await waitUntil(deadline: deadline) { !self.process.isRunning }
        } catch {
            throw ChaosError("\(name) still running after \(deadline); its log ends:\n\(logTail())")
        }
        return Termination(status: process.terminationStatus,
                           bySignal: process.terminationReason == .uncaughtSignal)
    }

    /// Everything the child wrote so far.
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func logTail(lines: Int = 30) -> String { log.split(separator: "\n").suffix(lines).joined(separator: "\n") }

    /// Kills the child if it still runs and removes its log file.
    func dispose() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: logURL)
    }

    struct Termination: Equatable, CustomStringConvertible {
        var status: Int32
        var bySignal: Bool
        var description: String { bySignal ? "signal \(status)" : "exit \(status)" }
    }
}

struct ChaosError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Where each produced row landed.
struct ProducedRows {
    /// Per partition, the end offset (one past the last written).
    var end: [TopicPartition: Int64] = [:]
    /// Per idempotency key, the partition and offset of its message.
    var positions: [String: (partition: TopicPartition, offset: Int64)] = [:]
}

/// A mock Kafka cluster, a Certyo emulator (both in this process, reached by the children over loopback), a table
/// in the test PostgreSQL whose catalog the children read, and the topic of its change events.
struct ChaosWorld {
    static let apiKey = "cty_chaos_00000000000000000"
    static let tenant = "chaos-tenant"
    static let database = "chaosdb"

    let cluster: KafkaMockCluster
    let emulator: RunningEmulator
    let producer: KafkaProducer
    /// The PostgreSQL table (`public.<table>`, columns `id bigint PRIMARY KEY, v text`).
    let table: String
    let topic: String
    let partitions: Int
    let group: String
    let deadLetterTopic: String
    let logger: Logger
    private let children: ChildRegistry

    static func with(
        partitions: Int,
        emulator configureEmulator: (inout EmulatorConfiguration) -> Void = { _ in },
        _ body: (ChaosWorld) async throws -> Void
    ) async throws {
        var logger = Logger(label: "chaos")
        logger.logLevel = .warning
        let connection = try await PostgresTestEnvironment.connect()
        try await PostgresTestEnvironment.withTable("chaos", columns: "id bigint PRIMARY KEY, v text",
                                                    on: connection) { name in
            let cluster = try KafkaMockCluster()
            let topic = "certyo.public.\(name.table)"
            try cluster.createTopic(topic, partitions: partitions)
            let deadLetterTopic = "certyo-cdc.dlq.\(name.table)"
            try cluster.createTopic(deadLetterTopic, partitions: 1)
            var emulatorConfiguration = EmulatorConfiguration()
            emulatorConfiguration.apiKeys = [apiKey: tenant]
            configureEmulator(&emulatorConfiguration)
            try await withCertyoEmulator(configuration: emulatorConfiguration, logger: logger) { emulator in
                var producerConfiguration = KafkaProducerConfiguration()
                producerConfiguration.bootstrapServers = cluster.bootstrapServers
                producerConfiguration.additionalProperties = ["linger.ms": "5", "partitioner": "murmur2_random"]
                let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
                let world = ChaosWorld(
                    cluster: cluster, emulator: emulator, producer: producer, table: name.table, topic: topic,
                    partitions: partitions, group: "chaos-\(UUID().uuidString)", deadLetterTopic: deadLetterTopic,
                    logger: logger, children: ChildRegistry()
                )
                defer { world.disposeChildren() }
                do {
                    try await body(world)
                } catch {
                    world.printChildLogs()
                    throw error
                }
                try await producer.close()
            }
        }
        await connection.close()
    }

    // MARK: - Children

    /// The environment of a `certyo-cdc run` child in this world; `overrides` replace or add settings.
    func settings(_ overrides: [String: String] = [:]) -> [String: String] {
        let kafkaProperties = mockConsumerProperties.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")
        var settings = [
            "CERTYO_BASE_URL": emulator.baseURL,
            "CERTYO_API_KEY": Self.apiKey,
            "CERTYO_TENANT_ID": Self.tenant,
            "CERTYO_REQUEST_TIMEOUT": "10s",
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrapServers,
            "CERTYO_GROUP_ID": group,
            "CERTYO_TOPIC_PATTERN": "^" + NSRegularExpression.escapedPattern(for: topic) + "$",
            "KAFKA_PROPERTIES": kafkaProperties,
            "CERTYO_BATCH_LINGER": "50ms",
            "CERTYO_DLQ_TOPIC": deadLetterTopic,
            "PG_DSN": PostgresTestEnvironment.dsn(),
            "CERTYO_LOG_LEVEL": "info",
            // Several members run at once: no operations endpoint (one port each) and no slot sidecar.
            "CERTYO_HTTP_PORT": "0",
            "CERTYO_SLOT_MONITOR": "false",
        ]
        settings.merge(overrides) { _, new in new }
        return settings
    }

    /// Starts a `certyo-cdc run` child; it is killed (if still running) when the world ends.
    func start(_ name: String, _ overrides: [String: String] = [:]) throws -> CDCProcess {
        let child = try CDCProcess(name: name, settings: settings(overrides))
        children.list.withLock { $0.append(child) }
        return child
    }

    private func disposeChildren() {
        for child in children.list.withLock({ $0 }) { child.dispose() }
    }

    /// Prints the end of every child's log (on failure, so the reason is visible).
    func printChildLogs() {
        for child in children.list.withLock({ $0 }) {
            print("---- \(child.name) (pid \(child.pid)) log tail ----\n\(child.logTail())")
        }
    }

    // MARK: - Envelopes

    /// The LSN of row `id`'s insert.
    static func lsn(_ id: Int) -> Int { 33_000_000 + id * 8 }

    /// The idempotency key certyo-cdc derives for row `id`'s insert into `table`.
    func idempotencyKey(_ id: Int) -> String { "dbz1:\(Self.database):public.\(table):\(Self.lsn(id)):c:\(id)" }

    /// A compact schemaless Debezium insert envelope for row `id` (~230 bytes).
    func envelope(_ id: Int, v: String? = nil) -> (key: [UInt8], value: [UInt8]) {
        let text = v ?? "row \(id) of the chaos run"
        let value = #"{"before":null,"after":{"id":\#(id),"v":"\#(text)"},"source":{"version":"3.6.0.Final","#
            + #""connector":"postgresql","name":"certyo","ts_ms":1764000000000,"db":"\#(Self.database)","#
            + #""schema":"public","table":"\#(table)","txId":\#(id + 1000),"lsn":\#(Self.lsn(id))},"#
            + #""op":"c","ts_ms":1764000000100}"#
        return (Array(#"{"id":\#(id)}"#.utf8), Array(value.utf8))
    }

    /// Produces the inserts of rows `ids` (placed by key, as Kafka Connect does) and returns where each landed.
    func produceRows(_ ids: Range<Int>) async throws -> ProducedRows {
        var produced = ProducedRows()
        for chunk in stride(from: ids.lowerBound, to: ids.upperBound, by: 5000) {
            let chunkIDs = chunk..<min(chunk + 5000, ids.upperBound)
            let messages = chunkIDs.map { id in
                let (key, value) = envelope(id)
                return OutgoingMessage(topic: topic, key: key, value: value)
            }
            let reports = try await producer.send(messages)
            for (id, report) in zip(chunkIDs, reports) {
                let tp = TopicPartition(topic: topic, partition: report.partition)
                produced.end[tp] = max(produced.end[tp] ?? 0, report.offset + 1)
                produced.positions[idempotencyKey(id)] = (tp, report.offset)
            }
        }
        return produced
    }

    /// Produces raw messages and returns the reports in order.
    func produce(_ messages: [OutgoingMessage]) async throws -> [DeliveryReport] {
        try await producer.send(messages)
    }

    var allPartitions: [TopicPartition] {
        (0..<partitions).map { TopicPartition(topic: topic, partition: Int32($0)) }
    }

    // MARK: - Observing

    /// What the group has committed, read from outside the group.
    func committed() async throws -> [TopicPartition: Int64?] {
        var configuration = KafkaConsumerConfiguration()
        configuration.bootstrapServers = cluster.bootstrapServers
        configuration.groupID = group
        return try await KafkaConsumer.committedOffsets(of: allPartitions, configuration: configuration,
                                                        logger: logger)
    }

    /// Whether every partition's committed offset equals its end offset (partitions never written must be at 0 or
    /// uncommitted).
    func committedEqualsEnd(_ end: [TopicPartition: Int64]) async throws -> Bool {
        let committed = try await committed()
        return allPartitions.allSatisfy { tp in (committed[tp] ?? nil) ?? 0 == end[tp] ?? 0 }
    }

    func storedKeys() async -> [String: Int] {
        await emulator.storedIdempotencyKeys(tenant: Self.tenant)
    }

    func storedCount() async -> Int { await emulator.counters().recordsStored }

    /// Reads every message of the dead-letter topic through a fresh group until `count` arrived.
    func readDeadLetters(count: Int) async throws -> [KafkaMessage] {
        var configuration = KafkaConsumerConfiguration()
        configuration.bootstrapServers = cluster.bootstrapServers
        configuration.groupID = "reader-\(UUID().uuidString)"
        configuration.topicPattern = "^" + NSRegularExpression.escapedPattern(for: deadLetterTopic) + "$"
        configuration.additionalProperties = mockConsumerProperties
        let reader = try KafkaConsumer(configuration: configuration, listener: NoRebalance(), logger: logger)
        var messages: [KafkaMessage] = []
        try await waitUntil(deadline: .seconds(30)) {
            messages += try await reader.poll()
            return messages.count >= count
        }
        try await reader.close()
        return messages
    }
}

/// The children a world started, killed when it ends.
final class ChildRegistry: Sendable {
    let list = Mutex<[CDCProcess]>([])
}

/// A seeded generator (SplitMix64) so a failing chaos run can be repeated with `CERTYO_CHAOS_SEED`.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The seed from `CERTYO_CHAOS_SEED`, else a random one; printed either way.
    static func fromEnvironment(test: String) -> SeededGenerator {
        let seed = ProcessInfo.processInfo.environment["CERTYO_CHAOS_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64.max)
        print("\(test): seed \(seed) (repeat with CERTYO_CHAOS_SEED=\(seed))")
        return SeededGenerator(seed: seed)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Records the partitions a consumer holds (for "the group was left" checks).
final class AssignmentRecorder: KafkaRebalanceListener, @unchecked Sendable {
    // @unchecked Sendable: the set is behind a Mutex.
    private let held = Mutex<Set<TopicPartition>>([])

    var partitions: Set<TopicPartition> { held.withLock { $0 } }

    func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool) -> [TopicPartition: Int64] {
        held.withLock { $0.subtract(partitions) }
        return [:]
    }

    func partitionsAssigned(_ partitions: [TopicPartition]) {
        held.withLock { $0.formUnion(partitions) }
    }
}
