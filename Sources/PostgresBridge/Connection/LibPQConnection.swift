import CLibPQ
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one `PGconn`: the only holder of the pointer, `PQfinish` in `deinit`.
///
/// - Important: Every method blocks and must run on the owning ``PostgresConnection``'s serial queue, never on the
///   Swift cooperative pool. That queue is also what makes the `@unchecked Sendable` true: libpq's `PGconn` is not
///   thread-safe, and this object is only ever touched by one queue at a time.
final class LibPQConnection: @unchecked Sendable {
    private var pointer: OpaquePointer?
    let context: ErrorContext
    /// libpq holds an unretained pointer to it while `pointer` lives; `deinit` finishes `pointer` first.
    private let noticeSink: NoticeSink

    private init(pointer: OpaquePointer, context: ErrorContext, logger: Logger) {
        self.pointer = pointer
        self.context = context
        self.noticeSink = NoticeSink(logger: logger, context: context)
        noticeSink.install(on: pointer)
    }

    deinit {
        if let pointer { PQfinish(pointer) }
    }

    /// The session's cancel key, read once the connection is up.
    private(set) var canceller: LibPQCancel?

    /// Whether ``finish()`` ran.
    var isFinished: Bool { pointer == nil }

    /// Calls `body` with the `PGconn`. The pointer must not escape `body`.
    func withPointer<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        guard let pointer else {
            throw PostgresError(
                code: .connectionClosed,
                operation: "connection closed to",
                message: "the connection was closed by this process",
                hint: "open a new connection",
                target: context.target
            )
        }
        return try body(pointer)
    }

    /// Closes the connection (`PQfinish`) now rather than in `deinit`.
    func finish() {
        if let pointer {
            PQfinish(pointer)
            self.pointer = nil
        }
    }

    /// Opens a connection, blocking up to `configuration.connectTimeout`, then applies the session settings.
    ///
    /// The connection is started with `PQconnectStartParams` and driven with `PQconnectPoll`, so that libpq's
    /// verbosity can be raised before the first server message: libpq has no `PGresult` for a failed connection, and
    /// verbose messages are the only place its SQLSTATE (e.g. `28P01`) appears.
    ///
    /// - Throws: A ``PostgresError``; the half-open `PGconn` is released before it is thrown.
    static func connect(configuration: PostgresConfiguration, logger: Logger) throws -> LibPQConnection {
        let context = ErrorContext(configuration: configuration)
        let pairs = configuration.connectionKeywordsAndValues()
        let started: OpaquePointer? = withCStringArray(pairs.map(\.0)) { keywords in
            withCStringArray(pairs.map(\.1)) { values in
                PQconnectStartParams(keywords, values, 0)
            }
        }
        guard let started else {
            throw PostgresError(
                code: .connectionFailed,
                operation: "cannot connect to",
                message: "libpq could not allocate a connection (out of memory)",
                target: context.target
            )
        }
        // From here on the owner frees the PGconn on every path, including throws.
        let connection = LibPQConnection(pointer: started, context: context, logger: logger)
        try connection.withPointer { conn in
            PQsetErrorVerbosity(conn, PQERRORS_VERBOSE)
            try connection.waitUntilConnected(conn, timeout: configuration.connectTimeout)
            PQsetErrorVerbosity(conn, PQERRORS_DEFAULT)
            connection.canceller = LibPQCancel(connection: conn)
        }
        for setting in configuration.sessionSettings {
            do {
                _ = try connection.execute(
                    "SELECT pg_catalog.set_config($1, $2, false)",
                    [setting.name, setting.value]
                )
            } catch var error as PostgresError {
                error.operation = "cannot apply session setting \(setting.name)=\(setting.value) on"
                error.code = error.code == .queryFailed ? .invalidConfiguration : error.code
                throw error
            }
        }
        return connection
    }

    /// Drives `PQconnectPoll` until the connection is up, failed, or the deadline passed.
    private func waitUntilConnected(_ conn: OpaquePointer, timeout: Duration) throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        if PQstatus(conn) == CONNECTION_BAD {
            throw PostgresError.libpq(.connectionFailed, operation: "cannot connect to", connection: conn,
                                      context: context)
        }
        var status = PGRES_POLLING_WRITING
        while true {
            switch status {
            case PGRES_POLLING_OK:
                return
            case PGRES_POLLING_FAILED:
                throw PostgresError.libpq(.connectionFailed, operation: "cannot connect to", connection: conn,
                                          context: context)
            default:
                let events = status == PGRES_POLLING_READING ? Int16(POLLIN) : Int16(POLLOUT)
                var descriptor = pollfd(fd: PQsocket(conn), events: events, revents: 0)
                while true {
                    let remaining = clock.now.duration(to: deadline)
                    guard remaining > .zero else {
                        throw PostgresError(
                            code: .connectionFailed,
                            operation: "cannot connect to",
                            message: "timeout expired after \(timeout) (connect_timeout)",
                            hint: PostgresError.fix(code: .connectionFailed, sqlState: nil, message: "timeout",
                                                    context),
                            target: context.target
                        )
                    }
                    let (seconds, attoseconds) = remaining.components
                    let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
                    let ready = poll(&descriptor, 1, milliseconds)
                    if ready > 0 || (ready < 0 && errno != EINTR) { break }
                }
            }
            status = PQconnectPoll(conn)
        }
    }

    /// Runs one statement, with parameters in text format (`nil` is SQL `NULL`), and reads the whole text result.
    ///
    /// Without parameters and with `allowMultipleStatements`, the statement goes through the simple query protocol
    /// (`PQexec`), which runs several `;`-separated statements and returns the last result.
    func execute(_ sql: String, _ parameters: [String?], allowMultipleStatements: Bool = false) throws
        -> PostgresRows
    {
        try withPointer { conn in
            let raw: OpaquePointer?
            if parameters.isEmpty && allowMultipleStatements {
                raw = PQexec(conn, sql)
            } else {
                raw = withOptionalCStringArray(parameters) { values in
                    PQexecParams(conn, sql, Int32(parameters.count), nil, values, nil, nil, 0)
                }
            }
            guard let raw else {
                throw PostgresError.libpq(.connectionClosed, operation: "query failed on", connection: conn,
                                          context: context)
            }
            let result = LibPQResult(pointer: raw)
            return try result.rows(connection: conn, context: context)
        }
    }
}

/// Calls `body` with a C array of C strings (NUL-terminated copies, freed afterwards).
func withCStringArray<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    withOptionalCStringArray(strings.map { Optional($0) } + [nil]) { body($0!) }
}

/// Calls `body` with a C array of optional C strings (`nil` stays `NULL`); `body` gets `nil` for an empty array.
func withOptionalCStringArray<T>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    defer { copies.forEach { free($0) } }
    let constants = copies.map { $0.map { UnsafePointer($0) } }
    return constants.withUnsafeBufferPointer { buffer in
        body(buffer.isEmpty ? nil : buffer.baseAddress)
    }
}
