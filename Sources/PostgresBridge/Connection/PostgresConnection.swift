import Dispatch
import Logging
import Synchronization

/// One PostgreSQL session, safe to share between tasks: statements from concurrent tasks run one after another.
///
/// Every libpq call (connecting, each statement, closing) runs on this connection's own serial `DispatchQueue`,
/// never on the Swift cooperative pool, and the calling task awaits it through a continuation that is resumed
/// exactly once. Values travel as text in both directions (`nil` is SQL `NULL`).
///
/// - Important: Call ``close()`` when done, or use ``withConnection(configuration:logger:_:)``. A connection that
///   is no longer referenced is closed too, once its last statement finished.
public final class PostgresConnection: Sendable {
    /// Owns the `PGconn`; only touched on `queue`.
    private let handle: LibPQConnection
    /// Serialises every use of `handle`.
    private let queue: DispatchQueue
    private let logger: Logger
    /// Sends cancel requests for statements whose task was cancelled.
    private let canceller: LibPQCancel?
    /// The statement running on `queue` now, by request number; guarded so a cancel reaches only its own statement.
    private let running = Mutex<UInt64?>(nil)
    private let lastRequest = Atomic<UInt64>(0)

    /// Where cancel requests run: `PQcancel` blocks while it connects to the server.
    private static let cancelQueue = DispatchQueue(label: "certyo-cdc.postgres.cancel")

    /// The server as `host:port/database` (no user, no password).
    public let target: String

    private init(handle: LibPQConnection, queue: DispatchQueue, logger: Logger) {
        self.handle = handle
        self.queue = queue
        self.logger = logger
        self.canceller = handle.canceller
        self.target = handle.context.target
    }

    deinit {
        // `PQfinish` writes to the socket: do it on the connection's queue, not on whichever thread let go last.
        let handle = self.handle
        queue.async { handle.finish() }
    }

    /// Opens a connection and applies the configuration's session settings.
    ///
    /// - Parameters:
    ///   - configuration: Where to connect and how.
    ///   - logger: Receives a debug line per connect and close, with `postgres.target` metadata.
    /// - Returns: An open connection.
    /// - Throws: A ``PostgresError`` with code ``PostgresError/Code/connectionFailed`` (with the server's SQLSTATE,
    ///   e.g. `28P01`, when the server answered) or ``PostgresError/Code/invalidConfiguration`` when a session
    ///   setting is rejected. The error never contains the password.
    /// - Note: Connecting does not react to task cancellation; ``PostgresConfiguration/connectTimeout`` bounds it.
    public static func connect(configuration: PostgresConfiguration, logger: Logger) async throws
        -> PostgresConnection
    {
        let queue = DispatchQueue(label: "certyo-cdc.postgres.connection")
        var logger = logger
        logger[metadataKey: PostgresLoggingKeys.target] = "\(configuration.target)"
        let connectionLogger = logger
        let handle = try await run(on: queue) {
            try LibPQConnection.connect(configuration: configuration, logger: connectionLogger)
        }
        logger.debug("connected to PostgreSQL")
        return PostgresConnection(handle: handle, queue: queue, logger: logger)
    }

    /// Opens a connection, runs `body` with it and closes it, whether `body` returns or throws.
    ///
    /// - Throws: What ``connect(configuration:logger:)`` or `body` throws.
    public static func withConnection<Result: Sendable>(
        configuration: PostgresConfiguration,
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await connect(configuration: configuration, logger: logger)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Runs one SQL statement with `$1`, `$2`, ... parameters and returns its rows.
    ///
    /// - Parameters:
    ///   - sql: One statement (the extended query protocol runs no more than one).
    ///   - parameters: The values of `$1`, `$2`, ... in text format; `nil` is SQL `NULL`. The server infers their
    ///     types, as `PQexecParams` with no type OIDs does; cast in SQL (`$1::int8`) where that is ambiguous.
    /// - Returns: The rows, with column names and type OIDs, every value as text.
    /// - Throws: A ``PostgresError``: ``PostgresError/Code/queryFailed`` with the server's SQLSTATE,
    ///   ``PostgresError/Code/connectionClosed`` when the connection is closed or lost, or
    ///   ``PostgresError/Code/cancelled`` when the task was cancelled (a running statement is cancelled on the
    ///   server with `PQcancel`; one still waiting for its turn does not run).
    public func query(_ sql: String, _ parameters: [String?] = []) async throws -> PostgresRows {
        try await runStatement { handle in try handle.execute(sql, parameters) }
    }

    /// Runs a statement for its effect and returns the number of rows it affected, if it counts rows.
    ///
    /// - Parameters:
    ///   - sql: With parameters, one statement; without, it may hold several `;`-separated statements (the
    ///     simple query protocol runs them in one implicit transaction and reports the last one).
    ///   - parameters: The values of `$1`, `$2`, ... in text format; `nil` is SQL `NULL`.
    /// - Returns: The affected row count of the (last) statement, or `nil` when it does not count rows.
    /// - Throws: A ``PostgresError`` as ``query(_:_:)`` does.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) async throws -> Int? {
        try await runStatement { handle in
            try handle.execute(sql, parameters, allowMultipleStatements: true).affectedRows
        }
    }

    /// Waits up to `timeout` for notifications on the channels this session `LISTEN`s to, and returns them (none
    /// when the time passed quietly). Notifications that arrived while other statements ran are returned at once.
    ///
    /// The wait runs on this connection's queue (a `poll` on its socket, then `PQconsumeInput`/`PQnotifies`), so
    /// statements queued meanwhile wait for it: keep `timeout` short, or give listening its own connection.
    ///
    /// - Parameter timeout: The longest wait.
    /// - Returns: The notifications, in the order the server sent them.
    /// - Throws: A ``PostgresError``: ``PostgresError/Code/connectionClosed`` when the connection is closed or lost,
    ///   ``PostgresError/Code/cancelled`` when the task was cancelled before the wait started.
    public func notifications(timeout: Duration) async throws -> [PostgresNotification] {
        try await runStatement { handle in try handle.waitForNotifications(timeout: timeout) }
    }

    /// Closes the session (`PQfinish`) after the statements already queued ran. Later calls throw
    /// ``PostgresError/Code/connectionClosed``. Closing twice does nothing.
    public func close() async {
        let handle = self.handle
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                handle.finish()
                continuation.resume()
            }
        }
        logger.debug("closed PostgreSQL connection")
    }

    /// Runs one statement on `queue`. If the calling task is cancelled, a statement that has not started yet does
    /// not start, and a running one is cancelled on the server (`PQcancel`); either way the call throws
    /// ``PostgresError/Code/cancelled``.
    private func runStatement<Value: Sendable>(
        _ statement: @escaping @Sendable (LibPQConnection) throws -> Value
    ) async throws -> Value {
        let request = lastRequest.add(1, ordering: .relaxed).newValue
        let cancelled = CancellationFlag()
        let handle = self.handle
        let target = self.target
        return try await withTaskCancellationHandler {
            try await Self.run(on: queue) {
                let skip = self.running.withLock { running -> Bool in
                    if cancelled.isSet { return true }
                    running = request
                    return false
                }
                if skip {
                    throw PostgresError(
                        code: .cancelled,
                        operation: "statement cancelled before it started on",
                        message: "the task was cancelled",
                        target: target
                    )
                }
                defer { self.running.withLock { $0 = nil } }
                do {
                    return try statement(handle)
                } catch var error as PostgresError where cancelled.isSet && error.sqlState == .queryCanceled {
                    error.code = .cancelled
                    throw error
                }
            }
        } onCancel: {
            cancelled.set()
            guard let canceller = self.canceller else { return }
            Self.cancelQueue.async {
                // Holding the lock keeps the queue from moving on to the next statement while the request is sent.
                self.running.withLock { running in
                    if running == request { canceller.cancel() }
                }
            }
        }
    }

    /// Runs blocking work on `queue` and resumes the caller exactly once with its result.
    private static func run<Value: Sendable>(
        on queue: DispatchQueue,
        _ work: @escaping @Sendable () throws -> Value
    ) async throws -> Value {
        let result: Result<Value, any Error> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result { try work() })
            }
        }
        return try result.get()
    }
}

/// Set once when a statement's task is cancelled.
private final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { flag.load(ordering: .acquiring) }

    func set() {
        flag.store(true, ordering: .releasing)
    }
}

/// Logger metadata keys used by this module.
enum PostgresLoggingKeys {
    static let target = "postgres.target"
    static let error = "postgres.error"
    static let sqlState = "postgres.sqlstate"
}
