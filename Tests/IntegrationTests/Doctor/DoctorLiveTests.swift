import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import KafkaBridge
import Logging
import PostgresBridge
import Testing

// Skipped without CDC_POSTGRES_* (no server to talk to); CI always sets them.
@Suite(
    .enabled(
        if: PostgresTestEnvironment.isConfigured,
        "CDC_POSTGRES_HOST/PASSWORD unset: start PostgreSQL 15 with scripts/test-postgres.sh start, export its output"
    ),
    .timeLimit(.minutes(2))
)
struct DoctorLiveTests {
    static let apiKey = "cty_doctor_SECRET_000000000000"
    static let tenant = "doctor-tenant"

    /// A deployment of its own in the shared test database: two tables, a publication of them, a pgoutput slot
    /// (all uniquely named, dropped afterwards), a Certyo emulator and a mock Kafka cluster.
    struct Deployment {
        var tables: [String]
        var publication: String
        var slot: String
        var emulator: RunningEmulator
        var cluster: KafkaMockCluster

        func configuration(apiKey: String = DoctorLiveTests.apiKey) -> Doctor.Configuration {
            var configuration = Doctor.Configuration(certyo: CertyoClient.Configuration(
                baseURL: emulator.baseURL, apiKey: CertyoAPIKey(apiKey), tenantId: DoctorLiveTests.tenant))
            configuration.postgresDSN = PostgresTestEnvironment.dsn()
            configuration.slotName = slot
            configuration.publicationName = publication
            configuration.topicPrefix = "certyo"
            configuration.bootstrapServers = cluster.bootstrapServers
            configuration.timeout = .seconds(5)
            return configuration
        }
    }

    static func withDeployment(
        replicaIdentityFull: Bool,
        createSlot: Bool,
        createTopics: Bool,
        _ body: (Deployment) async throws -> Void
    ) async throws {
        let connection = try await PostgresTestEnvironment.connect()
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let tables = ["doctor_a_\(suffix)", "doctor_b_\(suffix)"]
        let publication = "doctor_pub_\(suffix)"
        let slot = "doctor_slot_\(suffix)"
        func cleanUp() async {
            _ = try? await connection.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [slot])
            _ = try? await connection.execute("DROP PUBLICATION IF EXISTS \(publication)")
            for table in tables { _ = try? await connection.execute("DROP TABLE IF EXISTS public.\(table)") }
            await connection.close()
        }
        do {
            for table in tables {
                try await connection.execute("CREATE TABLE public.\(table) (id int PRIMARY KEY, note text)")
                if replicaIdentityFull {
                    try await connection.execute("ALTER TABLE public.\(table) REPLICA IDENTITY FULL")
                }
            }
            try await connection.execute(
                "CREATE PUBLICATION \(publication) FOR TABLE \(tables.map { "public.\($0)" }.joined(separator: ", "))")
            if createSlot {
                try await connection.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot])
            }
            let cluster = try KafkaMockCluster()
            if createTopics {
                for table in tables { try cluster.createTopic("certyo.public.\(table)", partitions: 1) }
            }
            var emulatorConfiguration = EmulatorConfiguration()
            emulatorConfiguration.apiKeys = [apiKey: tenant]
            var quiet = Logger(label: "certyo-cdc.tests.doctor")
            quiet.logLevel = .critical
            try await withCertyoEmulator(configuration: emulatorConfiguration, logger: quiet) { emulator in
                try await body(Deployment(tables: tables, publication: publication, slot: slot, emulator: emulator,
                                          cluster: cluster))
            }
        } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    static func run(_ configuration: Doctor.Configuration) async -> [DoctorCheck] {
        var logger = Logger(label: "certyo-cdc.tests.doctor")
        logger.logLevel = .critical
        return await Doctor(configuration: configuration, logger: logger).run()
    }

    static func check(_ name: String, in results: [DoctorCheck]) throws -> DoctorCheck {
        try #require(results.first { $0.name == name }, "no \(name) line in \(results)")
    }

    @Test func healthyDeploymentPassesEveryCheck() async throws {
        try await Self.withDeployment(replicaIdentityFull: true, createSlot: true, createTopics: true) { deployment in
            let results = await Self.run(deployment.configuration())
            #expect(results.map(\.name) == [
                "postgres", "wal_level", "max_slot_wal_keep_size", "publication", "replica_identity", "slot", "certyo",
                "kafka", "kafka_topics",
            ])
            #expect(!results.contains { $0.status == .fail }, "\(results)")
            #expect(try Self.check("wal_level", in: results).status == .ok)
            let publication = try Self.check("publication", in: results)
            #expect(publication.status == .ok)
            for table in deployment.tables { #expect(publication.detail.contains("public.\(table)")) }
            #expect(try Self.check("replica_identity", in: results).status == .ok)
            // No consumer streams from the test slot: it exists, but doctor warns that it is inactive.
            let slot = try Self.check("slot", in: results)
            #expect(slot.status == .warn)
            #expect(slot.detail.contains("not active"))
            #expect(try Self.check("certyo", in: results).status == .ok)
            #expect(try Self.check("kafka", in: results).status == .ok)
            let topics = try Self.check("kafka_topics", in: results)
            #expect(topics.status == .ok)
            #expect(topics.detail.contains("certyo.public.\(deployment.tables[0])"))
            for line in results.map(\.description) { #expect(!line.contains(Self.apiKey)) }
        }
    }

    @Test func brokenDeploymentFailsWithTheFixes() async throws {
        try await Self.withDeployment(replicaIdentityFull: false, createSlot: false, createTopics: false) { deployment in
            let wrongKey = "cty_doctor_WRONG_1111111111111"
            let results = await Self.run(deployment.configuration(apiKey: wrongKey))
            let lines = results.map(\.description)
            #expect(try Self.check("wal_level", in: results).status == .ok)

            let identity = try Self.check("replica_identity", in: results)
            #expect(identity.status == .fail)
            #expect(identity.detail.contains("public.\(deployment.tables[0]) is DEFAULT"))
            #expect(identity.fix?.contains("ALTER TABLE public.\(deployment.tables[1]) REPLICA IDENTITY FULL;") == true)

            let slot = try Self.check("slot", in: results)
            #expect(slot.status == .fail)
            #expect(slot.detail == "replication slot \(deployment.slot) does not exist")
            #expect(slot.fix?.contains("CERTYO_SLOT_NAME") == true)

            let certyo = try Self.check("certyo", in: results)
            #expect(certyo.status == .fail)
            #expect(certyo.detail.contains("refuses the API key"))
            #expect(certyo.fix?.contains("CERTYO_API_KEY") == true)

            #expect(try Self.check("kafka", in: results).status == .ok)
            let topics = try Self.check("kafka_topics", in: results)
            #expect(topics.status == .fail)
            #expect(topics.detail.contains("certyo.public.\(deployment.tables[1])"))

            // Every failing line carries its fix; no line shows a key or the DSN password.
            for check in results where check.status == .fail { #expect(check.description.contains(" — fix: ")) }
            for line in lines {
                #expect(!line.contains(wrongKey))
                #expect(!line.contains(Self.apiKey))
                #expect(!line.contains(PostgresTestEnvironment.password))
            }
        }
    }

    @Test func missingPublicationAndUnreachableServers() async throws {
        try await Self.withDeployment(replicaIdentityFull: true, createSlot: true, createTopics: true) { deployment in
            var configuration = deployment.configuration()
            configuration.publicationName = "doctor_no_such_publication"
            configuration.bootstrapServers = "127.0.0.1:1"
            configuration.timeout = .seconds(2)
            let results = await Self.run(configuration)
            let publication = try Self.check("publication", in: results)
            #expect(publication.status == .fail)
            #expect(publication.fix?.contains("CREATE PUBLICATION doctor_no_such_publication") == true)
            let kafka = try Self.check("kafka", in: results)
            #expect(kafka.status == .fail)
            #expect(kafka.fix?.contains("KAFKA_BOOTSTRAP_SERVERS") == true)
            #expect(!results.contains { $0.name == "kafka_topics" })

            var unreachable = deployment.configuration()
            unreachable.postgresDSN = PostgresTestEnvironment.dsn(port: "1")
            unreachable.certyo.baseURL = "http://127.0.0.1:1"
            unreachable.timeout = .seconds(2)
            let down = await Self.run(unreachable)
            let postgres = try Self.check("postgres", in: down)
            #expect(postgres.status == .fail)
            #expect(postgres.detail.contains("127.0.0.1:1/"))
            #expect(!postgres.description.contains(PostgresTestEnvironment.password))
            #expect(!down.contains { $0.name == "wal_level" })
            let certyo = try Self.check("certyo", in: down)
            #expect(certyo.status == .fail)
            #expect(certyo.detail.contains("unreachable"))
        }
    }
}
