import CDCCore
import Logging
import PostgresBridge
import ServiceLifecycle

/// The reconnect loop the listener and the poller share: one PostgreSQL session (canonical output settings) at a
/// time with its own ``CaptureCore`` and dead-letter table, reconnecting with a backoff up to 30 s after a failure,
/// until graceful shutdown. A configuration mistake (``ConfigError``, or what `missingTable` maps a PostgreSQL error
/// to) ends it instead.
func runCaptureSessions(
    name: String,
    postgres: PostgresConfiguration,
    batching: BatchingConfiguration,
    delivery: DeliveryConfiguration,
    sql: CaptureSQL,
    sink: any BatchSink,
    statistics: PipelineStatistics,
    logger: Logger,
    missingTable: (PostgresError) -> ConfigError?,
    session: (PostgresConnection, CaptureCore, StopFlag, _ resetAttempts: () -> Void) async throws -> Void
) async throws {
    var postgres = postgres
    postgres.sessionSettings = PostgresConfiguration.SessionSetting.canonicalTextOutput
    let stop = StopFlag()
    try await withGracefulShutdownHandler {
        var attempt = 0
        while !stop.isSet, !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(configuration: postgres, logger: logger)
                let core = CaptureCore(
                    batching: batching, delivery: delivery, sink: sink,
                    deadLetters: PostgresDeadLetterSink(connection: connection, sql: sql),
                    statistics: statistics, logger: logger
                )
                stop.onSet { core.requestStop() }
                defer { stop.onSet(nil) }
                do {
                    try await session(connection, core, stop, { attempt = 0 })
                    await connection.close()
                } catch {
                    await connection.close()
                    throw error
                }
            } catch let error as ConfigError {
                throw error
            } catch {
                if stop.isSet || Task.isCancelled { break }
                if let error = error as? PostgresError, let configError = missingTable(error) { throw configError }
                attempt += 1
                let delay = Duration.seconds(min(30, 1 << min(attempt, 5)))
                logger.error("\(name) lost PostgreSQL; reconnecting in \(delay): \(error)")
                try? await Task.sleep(for: delay)
            }
        }
    } onGracefulShutdown: {
        stop.set()
    }
    logger.info("\(name) stopped", metadata: ["pipeline.counts": "\(statistics.snapshot)"])
}
