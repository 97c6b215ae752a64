import Logging
import Metrics
import PostgresBridge
import ServiceLifecycle
import Synchronization

/// The replication-slot sidecar: every ``Configuration/interval`` it reads the watched slot from
/// `pg_replication_slots` on a connection of its own, logs the ``SlotAlert`` lines ``SlotHealth`` returns, records
/// the `certyo_cdc_slot_*` gauges and sets ``Readiness/Snapshot/slot``.
///
/// It never throws out of ``run()`` for a database problem: an unreachable server is one
/// `slot_database_unreachable` line, retried with a doubling wait (from ``Configuration/interval`` up to
/// ``Configuration/maximumRetryInterval``), and the pipeline keeps consuming meanwhile. It stops on graceful
/// shutdown or cancellation.
public struct SlotMonitor: Service {
    public let configuration: Configuration
    private let postgres: PostgresConfiguration
    private let readiness: Readiness?
    private let metrics: SlotMetrics
    private let logger: Logger

    /// Creates the sidecar; nothing is read before ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: The slot, the interval and the thresholds.
    ///   - postgres: The server to read (its DSN's password never appears in a line; lines name `host:port/db`).
    ///     The sidecar sets its own `application_name` (`certyo-cdc-slot-monitor`) and `statement_timeout`.
    ///   - readiness: Where the slot's state for `/ready` goes, if anywhere.
    ///   - metricsFactory: Where the `certyo_cdc_slot_*` gauges go. Default: the bootstrapped `MetricsSystem`.
    ///   - logger: Receives the alert lines (message = the line, level = the alert's level).
    public init(
        configuration: Configuration,
        postgres: PostgresConfiguration,
        readiness: Readiness? = nil,
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        self.configuration = configuration
        var postgres = postgres
        postgres.applicationName = "certyo-cdc-slot-monitor"
        let milliseconds = configuration.statementTimeout.components.seconds * 1000
            + configuration.statementTimeout.components.attoseconds / 1_000_000_000_000_000
        postgres.sessionSettings.append(.init(name: "statement_timeout", value: String(max(1, milliseconds))))
        self.postgres = postgres
        self.readiness = readiness
        self.metrics = SlotMetrics(slot: configuration.slotName, factory: metricsFactory)
        var logger = logger
        logger[metadataKey: "slot"] = "\(configuration.slotName)"
        self.logger = logger
    }

    /// Reads the slot until graceful shutdown or cancellation.
    public func run() async {
        logger.info("slot sidecar started", metadata: [
            "postgres.target": "\(postgres.target)", "slot.interval": "\(configuration.interval)",
        ])
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
        logger.info("slot sidecar stopped")
    }

    private func loop() async {
        let clock = ContinuousClock()
        var health = SlotHealth<ContinuousClock.Instant>(configuration: configuration)
        var connection: PostgresConnection?
        var failures = 0
        while !Task.isCancelled {
            let observation: SlotObservation
            do {
                let open: PostgresConnection
                if let connection {
                    open = connection
                } else {
                    open = try await PostgresConnection.connect(configuration: postgres, logger: logger)
                    connection = open
                }
                if let status = try await open.replicationSlot(named: configuration.slotName) {
                    observation = .present(status)
                } else {
                    observation = .missing
                }
                failures = 0
            } catch {
                if Task.isCancelled { break }
                if let error = error as? PostgresError, error.code == .cancelled { break }
                await connection?.close()
                connection = nil
                failures += 1
                observation = Self.unreachable(error, target: postgres.target)
            }
            let now = clock.now
            let alerts = health.observe(observation, at: now)
            // Gauges and readiness first: whoever acts on a line finds them already saying the same.
            metrics.record(observation, inactiveFor: health.inactiveDuration(at: now))
            let state = health.readiness
            readiness?.update { $0.slot = state }
            if case .present(let status) = observation {
                let walStatus = status.walStatus?.rawValue ?? "null"
                let retained = status.retainedBytes.map(String.init) ?? "null"
                logger.debug("slot read: active=\(status.isActive) wal_status=\(walStatus) retained_bytes=\(retained)")
            } else if case .missing = observation {
                logger.debug("slot read: missing")
            }
            for alert in alerts {
                logger.log(level: alert.level, "\(alert)", metadata: ["slot.event": "\(alert.event)"])
            }
            do {
                try await clock.sleep(for: Self.wait(after: failures, configuration: configuration))
            } catch {
                break
            }
        }
        await connection?.close()
    }

    /// The observation for a failed reading: where and why, never the password.
    static func unreachable(_ error: any Error, target: String) -> SlotObservation {
        if let error = error as? PostgresError {
            var reason = error.message
            if let sqlState = error.sqlState { reason += " [SQLSTATE \(sqlState.rawValue)]" }
            return .unreachable(target: error.target, reason: reason)
        }
        return .unreachable(target: target, reason: "\(type(of: error))")
    }

    /// The wait before the next reading: the interval, doubled per consecutive failure up to the retry bound.
    static func wait(after failures: Int, configuration: Configuration) -> Duration {
        guard failures > 0 else { return configuration.interval }
        let limit = max(configuration.interval, configuration.maximumRetryInterval)
        var wait = configuration.interval
        for _ in 1..<min(failures, 32) where wait < limit { wait *= 2 }
        return min(wait, limit)
    }
}
