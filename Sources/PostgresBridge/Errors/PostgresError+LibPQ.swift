import CLibPQ

/// What an error built from a libpq failure needs to know about the connection: where it goes, which secrets to
/// scrub, and how the operator names the DSN.
struct ErrorContext: Sendable {
    var target: String
    var secrets: [String]
    var dsnName: String

    init(target: String, secrets: [String], dsnName: String) {
        self.target = target
        self.secrets = secrets
        self.dsnName = dsnName
    }

    init(configuration: PostgresConfiguration) {
        self.target = configuration.target
        self.secrets = configuration.secrets
        self.dsnName = configuration.dsnName
    }

    func scrub(_ text: String?) -> String? {
        guard let text else { return nil }
        let line = Redaction.scrub(text, secrets: secrets).singleLine()
        return line.isEmpty ? nil : line
    }
}

// `PG_DIAG_*` are character macros; these are their values.
private let diagSQLState = Int32(UInt8(ascii: "C"))
private let diagMessagePrimary = Int32(UInt8(ascii: "M"))
private let diagMessageDetail = Int32(UInt8(ascii: "D"))
private let diagMessageHint = Int32(UInt8(ascii: "H"))

extension PostgresError {
    /// The one helper that turns a libpq failure into a ``PostgresError``: the SQLSTATE and the server's message,
    /// detail and hint from `result` when there is one, else from `PQerrorMessage(connection)`, all scrubbed of the
    /// password, plus our hint naming the fix when the server gave none.
    ///
    /// Connection failures have no `PGresult`; their SQLSTATE is read from the message, which libpq writes with it
    /// while connecting, because the connection is opened with `PQERRORS_VERBOSE` (see `LibPQConnection.connect`).
    static func libpq(
        _ code: Code,
        operation: String,
        connection: OpaquePointer?,
        result: OpaquePointer? = nil,
        context: ErrorContext,
        file: String = #fileID,
        line: Int = #line
    ) -> PostgresError {
        var sqlState: SQLState?
        var message: String?
        var detail: String?
        var hint: String?
        if let result, let state = PQresultErrorField(result, diagSQLState) {
            sqlState = SQLState(rawValue: String(cString: state))
            message = PQresultErrorField(result, diagMessagePrimary).map { String(cString: $0) }
            detail = PQresultErrorField(result, diagMessageDetail).map { String(cString: $0) }
            hint = PQresultErrorField(result, diagMessageHint).map { String(cString: $0) }
        } else if let connection, let raw = PQerrorMessage(connection) {
            let parsed = ParsedLibPQMessage(String(cString: raw))
            sqlState = parsed.sqlState
            message = parsed.message
            detail = parsed.detail
            hint = parsed.hint
        }
        var code = code
        if code == .queryFailed, let connection, PQstatus(connection) == CONNECTION_BAD {
            code = .connectionClosed
        }
        let scrubbedMessage = context.scrub(message) ?? "libpq reported no message"
        return PostgresError(
            code: code,
            sqlState: sqlState,
            operation: operation,
            message: scrubbedMessage,
            detail: context.scrub(detail),
            hint: context.scrub(hint) ?? Self.fix(code: code, sqlState: sqlState, message: scrubbedMessage, context),
            target: context.target,
            file: file,
            line: line
        )
    }

    /// Our advice for failures the server gave no hint for.
    static func fix(code: Code, sqlState: SQLState?, message: String, _ context: ErrorContext) -> String? {
        let dsn = context.dsnName
        switch sqlState {
        case .invalidPassword?:
            return "check the password in \(dsn) (and that the role has one)"
        case .invalidAuthorizationSpecification?:
            return "check the user in \(dsn) and the server's pg_hba.conf entry for this client"
        case .invalidCatalogName?:
            return "create the database or fix the database name in \(dsn)"
        case .cannotConnectNow?:
            return "the server is starting up or recovering; retry later"
        case .tooManyConnections?:
            return "close idle connections or raise the server's max_connections"
        case .insufficientPrivilege?:
            return "grant the privilege to the user in \(dsn)"
        case .undefinedTable?:
            return "create the table or fix its schema-qualified name"
        case .syntaxError?:
            return "fix the SQL statement"
        default:
            break
        }
        let lowered = message.lowercased()
        switch code {
        case .connectionFailed:
            if lowered.contains("connection refused") {
                return "is PostgreSQL running and is \(dsn)'s host/port right?"
            }
            if lowered.contains("timeout") || lowered.contains("timed out") || lowered.contains("unreachable") {
                return "is the host reachable (network, firewall) and is \(dsn)'s host/port right?"
            }
            if lowered.contains("translate host name") || lowered.contains("name or service not known") {
                return "check the host name in \(dsn)"
            }
            return "check \(dsn) and that PostgreSQL accepts connections from this host"
        case .connectionClosed:
            return "the server closed the connection (restart, shutdown, network); connect again"
        default:
            return nil
        }
    }
}

/// A libpq message written while connecting with `PQERRORS_VERBOSE`:
/// `connection to server at "h", port 5432 failed: FATAL:  28P01: password authentication failed ...`,
/// possibly followed by `DETAIL:  `, `HINT:  ` and `LOCATION:  ` lines.
struct ParsedLibPQMessage {
    var sqlState: SQLState?
    var message: String
    var detail: String?
    var hint: String?

    init(_ raw: String) {
        var messageLines: [String] = []
        for line in raw.split(separator: "\n", omittingEmptySubsequences: true) {
            let trimmed = String(line).trimmingSpaces()
            if trimmed.hasPrefix("DETAIL:") {
                detail = String(trimmed.dropFirst("DETAIL:".count)).trimmingSpaces()
            } else if trimmed.hasPrefix("HINT:") {
                hint = String(trimmed.dropFirst("HINT:".count)).trimmingSpaces()
            } else if trimmed.hasPrefix("LOCATION:") {
                continue
            } else {
                messageLines.append(String(line))
            }
        }
        var text = messageLines.joined(separator: "\n")
        for severity in ["FATAL:  ", "ERROR:  ", "PANIC:  "] {
            guard let range = text.findText(severity) else { continue }
            let codeStart = range.upperBound
            guard let codeEnd = text.index(codeStart, offsetBy: 5, limitedBy: text.endIndex),
                text[codeStart..<codeEnd].allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }),
                text[codeEnd...].hasPrefix(": ")
            else { continue }
            sqlState = SQLState(rawValue: String(text[codeStart..<codeEnd]))
            text.removeSubrange(codeStart..<text.index(codeEnd, offsetBy: 2))
            break
        }
        message = Self.withoutConnectionPreamble(text)
    }

    /// libpq writes `connection to server at "h" (addr), port 5432 failed: ` before each attempt's message and
    /// `Is the server running on that host and accepting TCP/IP connections?` after some; the error names the target
    /// and the fix itself, so a message about a single attempt loses both.
    static func withoutConnectionPreamble(_ text: String) -> String {
        let preambles = ["connection to server at ", "connection to server on socket "]
        let attempts = preambles.reduce(0) { count, preamble in count + text.occurrences(of: preamble) }
        var result = text
        if attempts == 1, let start = preambles.lazy.compactMap({ result.findText($0) }).first,
            let failed = result[start.upperBound...].findText(" failed: ")
        {
            result.removeSubrange(start.lowerBound..<failed.upperBound)
            for severity in ["FATAL:  ", "ERROR:  "] where result.hasPrefix(severity) {
                result.removeFirst(severity.count)
            }
        }
        for generic in [
            "Is the server running on that host and accepting TCP/IP connections?",
            "Is the server running locally and accepting connections on that socket?",
        ] {
            if let range = result.findText(generic) { result.removeSubrange(range) }
        }
        return result
    }
}

extension String {
    func occurrences(of needle: String) -> Int {
        var count = 0
        var rest = self[...]
        while let range = rest.findText(needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
