import Logging
import PostgresBridge

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The PostgreSQL 15 server the live tests use, from `CDC_POSTGRES_HOST/PORT/USER/PASSWORD/DB`
/// (`eval "$(scripts/test-postgres.sh start | sed 's/^/export /')"` sets them; CI always does).
enum PostgresTestEnvironment {
    static func variable(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Whether the variables are set. Without them the live suites are skipped, saying why.
    static let isConfigured = variable("CDC_POSTGRES_HOST") != nil && variable("CDC_POSTGRES_PASSWORD") != nil

    static var host: String { variable("CDC_POSTGRES_HOST") ?? "127.0.0.1" }
    static var port: String { variable("CDC_POSTGRES_PORT") ?? "25440" }
    static var user: String { variable("CDC_POSTGRES_USER") ?? "certyo_test" }
    static var password: String { variable("CDC_POSTGRES_PASSWORD") ?? "" }
    static var database: String { variable("CDC_POSTGRES_DB") ?? "certyo_test" }

    /// A `key=value` DSN for the test server, optionally with another password, port or database.
    static func dsn(password: String? = nil, port: String? = nil, database: String? = nil) -> String {
        "host=\(host) port=\(port ?? self.port) dbname=\(database ?? self.database) user=\(user) "
            + "password='\(password ?? self.password)'"
    }

    static func configuration(
        password: String? = nil,
        port: String? = nil,
        database: String? = nil
    ) throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(dsn: dsn(password: password, port: port, database: database))
        configuration.connectTimeout = .seconds(5)
        return configuration
    }

    static let logger = Logger(label: "certyo-cdc.tests.postgres")

    static func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: configuration(), logger: logger)
    }

    /// A table name no other test uses.
    static func uniqueTableName(_ prefix: String) -> String {
        "\(prefix)_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }

    /// Creates a table in schema `public` with the given column definitions, runs `body` with its name and drops
    /// the table afterwards, whether `body` succeeds or throws.
    static func withTable<Result: Sendable>(
        _ prefix: String,
        columns definition: String,
        on connection: PostgresConnection,
        _ body: (QualifiedTableName) async throws -> Result
    ) async throws -> Result {
        let name = QualifiedTableName(schema: "public", table: uniqueTableName(prefix))
        try await connection.execute("CREATE TABLE public.\(name.table) (\(definition))")
        do {
            let result = try await body(name)
            try await connection.execute("DROP TABLE public.\(name.table)")
            return result
        } catch {
            _ = try? await connection.execute("DROP TABLE public.\(name.table)")
            throw error
        }
    }
}
