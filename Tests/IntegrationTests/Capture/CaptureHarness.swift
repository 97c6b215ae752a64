import CDCCore
import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import Logging
import PostgresBridge
import ServiceLifecycle
import Synchronization
import Testing

/// The test PostgreSQL, a schema of its own (captured tables and `_certyo_*` tables), the Certyo emulator and a
/// client, owned by one test.
struct CaptureHarness {
    let connection: PostgresConnection
    let schema: String
    let sql: CaptureSQL
    let emulator: RunningEmulator
    let client: CertyoClient
    let logger: Logger

    static func with(
        emulator configureEmulator: (inout EmulatorConfiguration) -> Void = { _ in },
        _ body: (CaptureHarness) async throws -> Void
    ) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let connection = try await PostgresTestEnvironment.connect()
        let schema = PostgresTestEnvironment.uniqueTableName("cap")
        try await connection.execute("CREATE SCHEMA \(schema)")
        var emulatorConfiguration = EmulatorConfiguration()
        emulatorConfiguration.apiKeys = [PipelineHarness.apiKey: PipelineHarness.tenant]
        configureEmulator(&emulatorConfiguration)
        do {
            try await withCertyoEmulator(configuration: emulatorConfiguration, logger: logger) { emulator in
                var configuration = CertyoClient.Configuration(
                    baseURL: emulator.baseURL, apiKey: CertyoAPIKey(PipelineHarness.apiKey),
                    tenantId: PipelineHarness.tenant
                )
                configuration.requestTimeout = .seconds(5)
                try await withCertyoClient(configuration: configuration, logger: logger) { client in
                    let harness = CaptureHarness(connection: connection, schema: schema,
                                                 sql: CaptureSQL(schema: schema), emulator: emulator, client: client,
                                                 logger: logger)
                    try await body(harness)
                }
            }
        } catch {
            _ = try? await connection.execute("DROP SCHEMA \(schema) CASCADE")
            await connection.close()
            throw error
        }
        try await connection.execute("DROP SCHEMA \(schema) CASCADE")
        await connection.close()
    }

    func table(_ name: String) -> QualifiedTableName { QualifiedTableName(schema: schema, table: name) }

    /// Creates a table in the harness's schema.
    func createTable(_ name: String, _ definition: String) async throws -> QualifiedTableName {
        try await connection.execute("CREATE TABLE \(schema).\(name) (\(definition))")
        return table(name)
    }

    func setUpListen(_ tables: [QualifiedTableName]) async throws {
        try await CaptureSetup.install(.listen, tables: tables, versionColumn: "updated_at", sql: sql,
                                       connection: connection)
    }

    func setUpPoll(_ tables: [QualifiedTableName]) async throws {
        try await CaptureSetup.install(.poll, tables: tables, versionColumn: "updated_at", sql: sql,
                                       connection: connection)
    }

    func listenerConfiguration() throws -> ListenerConfiguration {
        var configuration = ListenerConfiguration(postgres: try PostgresTestEnvironment.configuration())
        configuration.sql = sql
        configuration.wakeInterval = .seconds(1)
        configuration.batching.maxRecords = 100
        configuration.delivery.retry.initialDelay = .milliseconds(50)
        configuration.delivery.retry.maximumDelay = .milliseconds(500)
        return configuration
    }

    func pollerConfiguration(_ table: QualifiedTableName) throws -> PollerConfiguration {
        var configuration = PollerConfiguration(postgres: try PostgresTestEnvironment.configuration(), table: table)
        configuration.sql = sql
        configuration.interval = .milliseconds(100)
        configuration.overlap = .milliseconds(200)
        configuration.pageSize = 100
        configuration.delivery.retry.initialDelay = .milliseconds(50)
        configuration.delivery.retry.maximumDelay = .milliseconds(500)
        return configuration
    }

    /// A service running in its own `ServiceGroup` until stopped or cancelled.
    struct Running {
        let group: ServiceGroup
        let task: Task<Void, any Error>

        func stop() async throws {
            await group.triggerGracefulShutdown()
            try await task.value
        }

        /// Ends it as a crash would: cancelled, no graceful drain.
        func kill() async {
            task.cancel()
            _ = try? await task.value
        }
    }

    func start(_ service: any Service) -> Running {
        let group = ServiceGroup(services: [service], logger: logger)
        return Running(group: group, task: Task { try await group.run() })
    }

    func outboxCount() async throws -> Int {
        Int(try await connection.query("SELECT count(*) AS n FROM \(schema)._certyo_outbox").first?[column: "n"] ?? "")
            ?? -1
    }

    func deadLetters() async throws -> PostgresRows {
        try await connection.query("SELECT * FROM \(schema)._certyo_dead_letters ORDER BY id")
    }

    /// Every idempotency key Certyo stored for this tenant, with how many records each stored.
    func storedKeys() async -> [String: Int] {
        await emulator.storedIdempotencyKeys(tenant: PipelineHarness.tenant)
    }
}

/// A sink that records every record Certyo accepted, in order, around the real one.
final class RecordingSink: BatchSink {
    private let inner: any BatchSink
    private let accepted = Mutex<[CertyoRecord]>([])

    init(_ inner: any BatchSink) {
        self.inner = inner
    }

    var records: [CertyoRecord] { accepted.withLock { $0 } }

    func ingest(_ records: [CertyoRecord]) async throws -> BatchReceipt {
        let receipt = try await inner.ingest(records)
        accepted.withLock { $0 += records }
        return receipt
    }

    func classify(_ error: any Error) -> FailureDisposition { inner.classify(error) }
}
