import CLibPQ

/// How to reach one PostgreSQL server: the DSN's connection parameters plus the settings this bridge adds.
///
/// Build it from a DSN in either libpq form, a URL (`postgresql://user:pass@host:5432/db?sslmode=require`) or
/// `key=value` pairs (`host=db port=5432 dbname=app user=cdc password=secret`). libpq itself parses the DSN
/// (`PQconninfoParse`), so every libpq parameter is accepted and means what the libpq manual says.
///
/// The password never leaves this value except towards libpq: ``description``, ``redactedDSN`` and every
/// ``PostgresError`` built for this configuration show `***` or nothing in its place.
public struct PostgresConfiguration: Sendable {
    /// One run-time parameter set for the whole session right after connecting (`set_config(name, value, false)`).
    public struct SessionSetting: Hashable, Sendable {
        /// The parameter's name, e.g. `"TimeZone"`.
        public var name: String
        /// Its value, e.g. `"UTC"`.
        public var value: String

        /// A parameter and its value.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }

        /// The settings under which the text form of every value is stable and exact: `TimeZone=UTC`,
        /// `DateStyle=ISO`, `IntervalStyle=iso_8601`, `extra_float_digits=3`, `bytea_output=hex`.
        /// A session that reads rows to re-hash them (`prove`) must use these.
        public static let canonicalTextOutput: [SessionSetting] = [
            SessionSetting(name: "TimeZone", value: "UTC"),
            SessionSetting(name: "DateStyle", value: "ISO"),
            SessionSetting(name: "IntervalStyle", value: "iso_8601"),
            SessionSetting(name: "extra_float_digits", value: "3"),
            SessionSetting(name: "bytea_output", value: "hex"),
        ]
    }

    /// A libpq connection parameter as parsed from the DSN.
    struct Parameter: Hashable, Sendable {
        var keyword: String
        var value: String
    }

    /// The DSN's parameters in libpq's keyword order, password included. Never printed.
    private(set) var parameters: [Parameter]

    /// The `application_name` the server shows in `pg_stat_activity`.
    /// Default: `"certyo-cdc"`, or the DSN's `application_name` when it has one.
    public var applicationName: String

    /// How long connecting may take, DNS, TLS and authentication included; libpq rounds it up to whole seconds
    /// and waits at least 2 s. Default: 10 seconds, or the DSN's `connect_timeout` when it has one.
    public var connectTimeout: Duration

    /// Run-time parameters set right after connecting, in this order. Default: none (the server's defaults).
    public var sessionSettings: [SessionSetting]

    /// What the operator calls the DSN, used in error hints ("is PG_DSN's host/port right?").
    /// Default: `"the DSN"`.
    public var dsnName: String

    /// A configuration without a DSN: libpq's defaults and environment (`PGHOST`, `PGPORT`, `PGUSER`,
    /// `PGDATABASE`, `PGPASSWORD`, ...), which usually means the local Unix socket.
    public init() {
        self.parameters = []
        self.applicationName = "certyo-cdc"
        self.connectTimeout = .seconds(10)
        self.sessionSettings = []
        self.dsnName = "the DSN"
    }

    /// Parses a DSN in URL or `key=value` form.
    ///
    /// - Parameter dsn: `postgresql://user:pass@host:port/db?param=value` or `host=... port=... dbname=...`.
    /// - Throws: A ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration`` when libpq cannot parse
    ///   it, or when `connect_timeout` is not a whole number of seconds. The error never contains the password.
    public init(dsn: String) throws {
        self.init()
        let parsed = try Self.parse(dsn: dsn)
        var kept: [Parameter] = []
        for parameter in parsed {
            switch parameter.keyword {
            case "application_name":
                self.applicationName = parameter.value
            case "connect_timeout":
                guard let seconds = Int(parameter.value.trimmingSpaces()), seconds >= 0 else {
                    throw PostgresError(
                        code: .invalidConfiguration,
                        operation: "invalid DSN for",
                        message: "connect_timeout=\(parameter.value) is not a whole number of seconds",
                        hint: "write connect_timeout as seconds, e.g. connect_timeout=10",
                        target: Self.target(of: parsed)
                    )
                }
                self.connectTimeout = .seconds(seconds)
            case "client_encoding":
                // Always UTF8 (see `connectionKeywordsAndValues`): rows are decoded as UTF-8 Swift strings.
                continue
            default:
                kept.append(parameter)
            }
        }
        self.parameters = kept
    }

    /// The value of a libpq parameter given in the DSN (`"host"`, `"port"`, `"dbname"`, `"user"`, `"sslmode"`...),
    /// or `nil` when the DSN does not set it. Returns `nil` for `password` and `sslpassword`.
    public func parameter(_ keyword: String) -> String? {
        guard !Self.secretKeywords.contains(keyword) else { return nil }
        return parameters.last(where: { $0.keyword == keyword })?.value
    }

    /// The server as `host:port/database`: what errors and logs name. Values missing from the DSN come from
    /// libpq's defaults and environment (`PGHOST`, `PGPORT`, ...); a Unix socket shows as its directory.
    public var target: String {
        Self.target(of: parameters)
    }

    /// The DSN in `key=value` form with `password=***`, safe to log.
    public var redactedDSN: String {
        parameters.map { parameter in
            let value = Self.secretKeywords.contains(parameter.keyword) ? "***" : Self.quoted(parameter.value)
            return "\(parameter.keyword)=\(value)"
        }.joined(separator: " ")
    }

    /// The secrets errors must not show: the DSN's passwords, raw and percent-encoded.
    var secrets: [String] {
        parameters.filter { Self.secretKeywords.contains($0.keyword) }.flatMap { parameter in
            [parameter.value, parameter.value.percentEncodedForURL()]
        }.filter { !$0.isEmpty }
    }

    static let secretKeywords: Set<String> = ["password", "sslpassword"]
}

// MARK: - PostgresConfiguration + CustomStringConvertible

extension PostgresConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "PostgresConfiguration(\(redactedDSN), application_name=\(applicationName), connectTimeout=\(connectTimeout)"
            + ", sessionSettings=\(sessionSettings.map { "\($0.name)=\($0.value)" }))"
    }

    public var debugDescription: String { description }
}

// MARK: - PostgresConfiguration + CustomReflectable

extension PostgresConfiguration: CustomReflectable {
    /// What `dump` and test failure messages show: the redacted DSN, never the stored password.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "dsn": redactedDSN,
                "target": target,
                "applicationName": applicationName,
                "connectTimeout": connectTimeout,
                "sessionSettings": sessionSettings,
                "dsnName": dsnName,
            ],
            displayStyle: .struct
        )
    }
}

// MARK: - PostgresConfiguration + libpq

extension PostgresConfiguration {
    /// Parses a DSN with libpq, returning the parameters it sets.
    static func parse(dsn: String) throws -> [Parameter] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(dsn, &errorMessage) else {
            var message = "libpq cannot parse it"
            if let errorMessage {
                message = String(cString: errorMessage)
                PQfreemem(errorMessage)
            }
            let secrets = Redaction.guessPasswords(inDSN: dsn)
            throw PostgresError(
                code: .invalidConfiguration,
                operation: "invalid DSN for",
                message: Redaction.scrub(message, secrets: secrets).singleLine(),
                hint: "write it as postgresql://user:password@host:port/database or host=... port=... dbname=...",
                target: "(unparsed DSN)"
            )
        }
        defer { PQconninfoFree(options) }
        var parameters: [Parameter] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                parameters.append(Parameter(keyword: String(cString: keyword), value: String(cString: value)))
            }
            option += 1
        }
        return parameters
    }

    /// libpq's default values (compiled-in and from the environment), without passwords.
    static func libpqDefaults() -> [String: String] {
        guard let options = PQconndefaults() else { return [:] }
        defer { PQconninfoFree(options) }
        var defaults: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            let name = String(cString: keyword)
            if let value = option.pointee.val, !secretKeywords.contains(name) {
                defaults[name] = String(cString: value)
            }
            option += 1
        }
        return defaults
    }

    static func target(of parameters: [Parameter]) -> String {
        var values: [String: String] = [:]
        for parameter in parameters { values[parameter.keyword] = parameter.value }
        let needsDefaults = values["host"] == nil || values["port"] == nil || values["dbname"] == nil
        let defaults = needsDefaults ? libpqDefaults() : [:]
        func value(_ keyword: String) -> String? {
            if let value = values[keyword], !value.isEmpty { return value }
            if let value = defaults[keyword], !value.isEmpty { return value }
            return nil
        }
        let host = value("host") ?? value("hostaddr") ?? "local socket"
        let port = value("port") ?? "5432"
        let database = value("dbname") ?? value("user") ?? "(default database)"
        return "\(host):\(port)/\(database)"
    }

    /// The keyword/value pairs handed to libpq: the DSN's parameters, then ours (these win).
    func connectionKeywordsAndValues() -> [(String, String)] {
        var pairs = parameters.map { ($0.keyword, $0.value) }
        let seconds = max(1, Int((connectTimeout + .milliseconds(999)).components.seconds))
        pairs.append(("application_name", applicationName))
        pairs.append(("connect_timeout", String(seconds)))
        pairs.append(("client_encoding", "UTF8"))
        return pairs
    }

    static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains(where: { $0 == " " || $0 == "'" || $0 == "\\" })
        guard needsQuotes else { return value }
        let escaped = value.replacing("\\", with: "\\\\").replacing("'", with: "\\'")
        return "'\(escaped)'"
    }
}
