/// The one error type of `PostgresBridge`: a libpq or server failure, with the SQLSTATE when there is one.
///
/// Every text in it was scrubbed of the connection's password when the error was built, so `description`,
/// `debugDescription`, `String(reflecting:)` and log lines can show it as is. ``description`` is one line that names
/// what failed, on which server (`host:port/db`, never the DSN) and, when there is one, the fix.
public struct PostgresError: Error, Sendable {
    /// What kind of failure this is. Opaque: compare with the static members, e.g. `error.code == .queryFailed`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Backing: String, Hashable, Sendable {
            case invalidConfiguration
            case connectionFailed
            case connectionClosed
            case queryFailed
            case unexpectedResult
            case tableNotFound
            case cancelled
        }

        fileprivate let backing: Backing

        fileprivate init(_ backing: Backing) {
            self.backing = backing
        }

        /// The DSN or another setting cannot be used (libpq could not parse it, or a value is out of range).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Connecting failed: refused, timed out, authentication failed, database missing, ...
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection was closed with ``PostgresConnection/close()`` or was lost (server gone, network).
        public static let connectionClosed = Code(.connectionClosed)
        /// The server rejected a statement (see ``PostgresError/sqlState``).
        public static let queryFailed = Code(.queryFailed)
        /// The server answered with something this bridge does not handle (e.g. `COPY`).
        public static let unexpectedResult = Code(.unexpectedResult)
        /// A catalog lookup found no such table (``PostgresError/sqlState`` is `42P01`).
        public static let tableNotFound = Code(.tableNotFound)
        /// The task was cancelled; a running statement was asked to stop.
        public static let cancelled = Code(.cancelled)

        public var description: String { backing.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The SQLSTATE the server reported, or `nil` when the failure happened without a server answer
    /// (connection refused, timeout, connection lost, a bad DSN).
    public var sqlState: SQLState?
    /// What failed, e.g. `"cannot connect to"` or `"query failed on"`; the description puts the target after it.
    public var operation: String
    /// The server's or libpq's message, on one line, with any password replaced by `***`.
    public var message: String
    /// The server's `DETAIL`, if any (scrubbed).
    public var detail: String?
    /// The server's `HINT`, or ours when we know the fix (scrubbed).
    public var hint: String?
    /// The server as `host:port/database`, without user or password.
    public var target: String
    /// The error this one wraps, if any.
    public var underlying: (any Error & Sendable)?
    /// Where the error was created.
    public var file: String
    /// Where the error was created.
    public var line: Int

    /// Creates an error. Every text given must already be free of secrets; libpq failures are built by one internal
    /// helper that scrubs them.
    public init(
        code: Code,
        sqlState: SQLState? = nil,
        operation: String,
        message: String,
        detail: String? = nil,
        hint: String? = nil,
        target: String,
        underlying: (any Error & Sendable)? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.sqlState = sqlState
        self.operation = operation
        self.message = message
        self.detail = detail
        self.hint = hint
        self.target = target
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    /// Whether trying again later (a new connection, the same statement) may succeed: connection problems that are
    /// not the configuration's fault, serialization failures, deadlocks, a server shutting down.
    /// Authentication failures, a missing database or table and SQL errors are not retriable: they need a fix.
    public var isRetriable: Bool {
        switch code.backing {
        case .connectionClosed:
            return true
        case .connectionFailed:
            guard let sqlState else { return true }
            return sqlState == .cannotConnectNow || sqlState == .tooManyConnections || sqlState == .adminShutdown
                || sqlState.errorClass == "08"
        case .queryFailed:
            guard let sqlState else { return false }
            return sqlState.errorClass == "08" || sqlState == .serializationFailure || sqlState == .deadlockDetected
                || sqlState == .adminShutdown || sqlState == .cannotConnectNow
        case .invalidConfiguration, .unexpectedResult, .tableNotFound, .cancelled:
            return false
        }
    }
}

// MARK: - PostgresError + CustomStringConvertible

extension PostgresError: CustomStringConvertible {
    /// One line: what failed, where, the server's message with its SQLSTATE, and the fix when known, e.g.
    /// `cannot connect to 127.0.0.1:5999/db: connection refused (…) — is PostgreSQL running and is the DSN's
    /// host/port right?`
    public var description: String {
        var text = "\(operation) \(target): \(message)"
        if let detail, !detail.isEmpty {
            text += " (\(detail))"
        }
        if let sqlState {
            text += " [SQLSTATE \(sqlState.rawValue)]"
        }
        if let hint, !hint.isEmpty {
            text += " — \(hint)"
        }
        return text
    }
}

// MARK: - PostgresError + CustomDebugStringConvertible

extension PostgresError: CustomDebugStringConvertible {
    public var debugDescription: String {
        var fields = ["code: \(code)"]
        if let sqlState { fields.append("sqlState: \(sqlState)") }
        fields.append("operation: \(String(reflecting: operation))")
        fields.append("target: \(String(reflecting: target))")
        fields.append("message: \(String(reflecting: message))")
        if let detail { fields.append("detail: \(String(reflecting: detail))") }
        if let hint { fields.append("hint: \(String(reflecting: hint))") }
        if let underlying { fields.append("underlying: \(String(reflecting: underlying))") }
        fields.append("file: \(file):\(line)")
        return "PostgresError(\(fields.joined(separator: ", ")))"
    }
}
