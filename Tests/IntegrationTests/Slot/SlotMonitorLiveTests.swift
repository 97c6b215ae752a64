import CertyoCDC
import Foundation
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
struct SlotMonitorLiveTests {
    static let warning: Int64 = 8 << 20
    static let critical: Int64 = 24 << 20

    static func configuration(slot: String) -> SlotMonitor.Configuration {
        var configuration = SlotMonitor.Configuration()
        configuration.slotName = slot
        configuration.interval = .milliseconds(100)
        configuration.retainedBytesWarning = warning
        configuration.retainedBytesCritical = critical
        // The test slots never have a consumer: keep the inactive alerts out of these tests.
        configuration.inactiveWarning = .seconds(3600)
        configuration.inactiveCritical = .seconds(7200)
        configuration.reminderInterval = .seconds(3600)
        configuration.maximumRetryInterval = .milliseconds(500)
        return configuration
    }

    /// Creates a pgoutput slot, runs `body` with its name and drops it afterwards (it would keep WAL forever).
    static func withSlot<Result: Sendable>(
        on connection: PostgresConnection,
        _ body: (String) async throws -> Result
    ) async throws -> Result {
        let slot = SlotTestSupport.uniqueSlotName()
        try await connection.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot])
        do {
            let result = try await body(slot)
            _ = try? await connection.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [slot])
            return result
        } catch {
            _ = try? await connection.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [slot])
            throw error
        }
    }

    static func retained(_ slot: String, on connection: PostgresConnection) async throws -> Int64 {
        try #require(try await connection.replicationSlot(named: slot)?.retainedBytes)
    }

    /// Writes WAL (1 MiB logical messages) until the slot retains at least `bytes`.
    static func generateWAL(until bytes: Int64, slot: String, on connection: PostgresConnection) async throws {
        var written = 0
        while try await retained(slot, on: connection) < bytes {
            try await connection.execute("SELECT pg_logical_emit_message(false, 'certyo-test', repeat('x', 1048576))")
            written += 1
            try #require(written < 200, "WAL written but the slot's retained bytes do not grow")
        }
    }

    @Test func retainedWALGivesWarningThenCriticalAndAdvancingClearsOnce() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        try await Self.withSlot(on: connection) { slot in
            let recorder = LineRecorder()
            let metrics = MetricsProbe()
            let readiness = Readiness()
            let monitor = SlotMonitor(
                configuration: Self.configuration(slot: slot), postgres: try PostgresTestEnvironment.configuration(),
                readiness: readiness, metricsFactory: metrics.factory, logger: recorder.logger)
            let labels = #"slot="\#(slot)""#
            let (_, wasRunning) = try await SlotTestSupport.running(monitor) {
                // A first reading: the new slot is healthy.
                _ = await recorder.nextReading()
                #expect(metrics.value("certyo_cdc_slot_exists", labels) == 1)
                #expect(recorder.events.isEmpty)

                try await Self.generateWAL(until: Self.warning + (1 << 20), slot: slot, on: connection)
                let warning = await recorder.alert("slot_retained_bytes_warning")
                #expect(warning.hasPrefix("warning slot_retained_bytes_warning slot=\(slot) retained_bytes="))
                #expect(warning.contains("threshold=\(Self.warning)"))
                #expect(readiness.snapshot.slot == .degraded)

                try await Self.generateWAL(until: Self.critical + (1 << 20), slot: slot, on: connection)
                let critical = await recorder.alert("slot_retained_bytes_critical")
                #expect(critical.hasPrefix("critical slot_retained_bytes_critical slot=\(slot) retained_bytes="))
                #expect(critical.contains("threshold=\(Self.critical)"))
                let retainedGauge = try #require(metrics.value("certyo_cdc_slot_retained_bytes", labels))
                #expect(retainedGauge >= Double(Self.critical))
                #expect(metrics.value("certyo_cdc_slot_up", labels) == 1)
                #expect(metrics.value("certyo_cdc_slot_active", labels) == 0)
                #expect(metrics.value("certyo_cdc_slot_flush_lag_bytes", labels).map { $0 >= Double(Self.critical) } == true)
                #expect(metrics.value("certyo_cdc_slot_catalog_xmin_age", labels).map { $0 >= 0 } == true)
                #expect(metrics.value("certyo_cdc_slot_wal_status", #"slot="\#(slot)",wal_status="reserved""#) == 1)
                #expect(metrics.value("certyo_cdc_slot_wal_status", #"slot="\#(slot)",wal_status="lost""#) == 0)

                // Consume nothing, just move the slot to the end of WAL: a checkpoint logs the running-transactions
                // record the slot may restart from.
                var attempts = 0
                repeat {
                    try await connection.execute("CHECKPOINT")
                    try await connection.execute("SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())", [slot])
                    attempts += 1
                } while try await Self.retained(slot, on: connection) >= Self.warning && attempts < 5
                let cleared = await recorder.alert("slot_retained_bytes_cleared")
                #expect(cleared.hasPrefix("notice slot_retained_bytes_cleared slot=\(slot) retained_bytes="))
                #expect(readiness.snapshot.slot == .healthy)
                #expect(metrics.value("certyo_cdc_slot_retained_bytes", labels).map { $0 < Double(Self.warning) } == true)
            }
            #expect(wasRunning)
            let events = recorder.events
            #expect(events.first == "slot_retained_bytes_warning")
            #expect(events.filter { $0 == "slot_retained_bytes_critical" }.count == 1)
            #expect(events.filter { $0 == "slot_retained_bytes_cleared" }.count == 1)
            #expect(events.last == "slot_retained_bytes_cleared")
            #expect(!recorder.lines.contains { $0.contains(PostgresTestEnvironment.password) })
        }
        await connection.close()
    }

    @Test func droppedSlotGivesSlotMissing() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        try await Self.withSlot(on: connection) { slot in
            let recorder = LineRecorder()
            let metrics = MetricsProbe()
            let readiness = Readiness()
            let monitor = SlotMonitor(
                configuration: Self.configuration(slot: slot), postgres: try PostgresTestEnvironment.configuration(),
                readiness: readiness, metricsFactory: metrics.factory, logger: recorder.logger)
            let labels = #"slot="\#(slot)""#
            let (_, wasRunning) = try await SlotTestSupport.running(monitor) {
                _ = await recorder.nextReading()
                #expect(metrics.value("certyo_cdc_slot_exists", labels) == 1)
                #expect(readiness.snapshot.slot == .healthy)
                try await connection.execute("SELECT pg_drop_replication_slot($1)", [slot])
                let missing = await recorder.alert("slot_missing")
                #expect(missing.hasPrefix("critical slot_missing slot=\(slot) exists=false"))
                #expect(readiness.snapshot.slot == .missing)
                #expect(metrics.value("certyo_cdc_slot_exists", labels) == 0)
                #expect(metrics.value("certyo_cdc_slot_up", labels) == 1)
                // Re-created: one clearing line.
                try await connection.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot])
                _ = await recorder.alert("slot_missing_cleared")
                #expect(readiness.snapshot.slot == .healthy)
            }
            #expect(wasRunning)
            #expect(recorder.events == ["slot_missing", "slot_missing_cleared"])
        }
        await connection.close()
    }
}

/// A stopped server: its own throwaway cluster (the shared one stays up for the other suites).
@Suite(
    .enabled(
        if: PostgresTestEnvironment.isConfigured
            && FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/15/bin/initdb"),
        "needs CDC_POSTGRES_* and PostgreSQL 15's initdb/pg_ctl in /usr/lib/postgresql/15/bin"
    ),
    .timeLimit(.minutes(3))
)
struct SlotMonitorStoppedServerTests {
    static let port = 25450

    @Test func stoppedServerGivesUnreachableLineAndTheSidecarKeepsRunning() async throws {
        let home = "/tmp/certyo-cdc-slot-stopped-\(getpid())"
        try SlotTestSupport.testPostgres("start", home: home, port: Self.port)
        defer { _ = try? SlotTestSupport.testPostgres("purge", home: home, port: Self.port) }
        let port = String(Self.port)
        let postgres = try PostgresTestEnvironment.configuration(port: port)
        let slot = SlotTestSupport.uniqueSlotName()
        _ = try await PostgresConnection.withConnection(configuration: postgres, logger: PostgresTestEnvironment.logger) {
            try await $0.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot])
        }
        let recorder = LineRecorder()
        let metrics = MetricsProbe()
        let readiness = Readiness()
        let monitor = SlotMonitor(
            configuration: SlotMonitorLiveTests.configuration(slot: slot), postgres: postgres, readiness: readiness,
            metricsFactory: metrics.factory, logger: recorder.logger)
        let labels = #"slot="\#(slot)""#
        let (_, wasRunning) = try await SlotTestSupport.running(monitor) {
            _ = await recorder.nextReading()
            #expect(metrics.value("certyo_cdc_slot_exists", labels) == 1)
            try SlotTestSupport.testPostgres("stop", home: home, port: Self.port)
            let down = await recorder.alert("slot_database_unreachable")
            #expect(down.hasPrefix("error slot_database_unreachable slot=\(slot) target=127.0.0.1:\(port)/"))
            #expect(down.contains("reason="))
            #expect(readiness.snapshot.slot == .databaseUnreachable)
            #expect(metrics.value("certyo_cdc_slot_up", labels) == 0)
            try SlotTestSupport.testPostgres("start", home: home, port: Self.port)
            _ = await recorder.alert("slot_database_unreachable_cleared")
            #expect(readiness.snapshot.slot == .healthy)
            #expect(metrics.value("certyo_cdc_slot_up", labels) == 1)
        }
        #expect(wasRunning)
        #expect(recorder.events == ["slot_database_unreachable", "slot_database_unreachable_cleared"])
        #expect(!recorder.lines.contains { $0.contains(PostgresTestEnvironment.password) })
    }
}
