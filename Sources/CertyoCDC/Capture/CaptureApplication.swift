import CertyoClient
import Logging
import PostgresBridge
import ServiceLifecycle
import UnixSignals

/// Runs `certyo-cdc listen` or `poll`: the Certyo client, the capture service in a `ServiceGroup`, stopping
/// gracefully on SIGTERM and SIGINT.
public enum CaptureApplication {
    /// Which capture service to run.
    public enum Mode: Sendable {
        case listen(ListenerConfiguration)
        case poll(PollerConfiguration)
    }

    /// Runs until SIGTERM/SIGINT.
    /// - Throws: A ``ConfigError`` when the database is not set up, or what the client or the service throws.
    public static func run(_ mode: Mode, configuration: CertyoCDCConfiguration, logger: Logger) async throws {
        try await withCertyoClient(configuration: configuration.certyo, logger: logger) { client in
            let sink = CertyoBatchSink(client: client, apiKeyFile: configuration.apiKeyFile, logger: logger)
            let service: any Service
            switch mode {
            case .listen(let listener):
                service = OutboxListener(configuration: listener, sink: sink, logger: logger)
            case .poll(let poller):
                service = TablePoller(configuration: poller, sink: sink, logger: logger)
            }
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
            ))
            try await group.run()
        }
    }
}

/// `certyo-cdc setup listen|poll`: the SQL that prepares the database, printed or run.
public enum CaptureSetup {
    public enum Mode: String, Sendable {
        case listen, poll
    }

    /// The setup SQL. With a connection, checks each table exists and has a primary key first.
    /// - Throws: A ``ConfigError`` naming the table and the fix.
    public static func sql(_ mode: Mode, tables: [QualifiedTableName], versionColumn: String, sql: CaptureSQL,
                           connection: PostgresConnection?) async throws -> String {
        var keys: [QualifiedTableName: [String]] = [:]
        if let connection {
            for table in tables {
                let catalog: CatalogTable
                do {
                    catalog = try await connection.catalogTable(table)
                } catch let error as PostgresError where error.code == .tableNotFound {
                    throw ConfigError(code: .invalid, setting: "--table", message: "\(table) does not exist",
                                      fix: "give an existing table as schema.table (names are case-sensitive)")
                }
                guard !catalog.primaryKey.isEmpty else {
                    throw ConfigError(code: .invalid, setting: "--table",
                                      message: "\(table) has no primary key, so its rows have no record id",
                                      fix: "add a primary key to \(table)")
                }
                keys[table] = catalog.primaryKey
            }
        }
        switch mode {
        case .listen: return sql.listenSetupSQL(tables: tables)
        case .poll: return sql.pollSetupSQL(tables: tables, column: versionColumn, primaryKeys: keys)
        }
    }

    /// Runs the setup SQL in one transaction.
    /// - Throws: A ``ConfigError`` for a missing table, or a ``PostgresError``.
    public static func install(_ mode: Mode, tables: [QualifiedTableName], versionColumn: String, sql: CaptureSQL,
                               connection: PostgresConnection) async throws {
        let text = try await self.sql(mode, tables: tables, versionColumn: versionColumn, sql: sql,
                                      connection: connection)
        try await connection.execute("BEGIN;\n" + text + "\nCOMMIT;")
    }
}

extension CaptureSetup {
    /// What `certyo-cdc setup` does: parses the table names, then prints the SQL (`print`), or runs it on `PG_DSN`.
    ///
    /// - Parameters:
    ///   - mode: `listen` or `poll`.
    ///   - tables: `schema.table` names.
    ///   - raw: The settings (`PG_DSN`, `CERTYO_CAPTURE_SCHEMA`); `PG_DSN` may be absent with `print`.
    /// - Returns: The SQL when printing, else a one-line summary.
    /// - Throws: A ``ConfigError`` (bad mode, table, DSN; a missing table) or a ``PostgresError``.
    public static func perform(mode: String, tables: [String], versionColumn: String, print: Bool, raw: RawSettings,
                               logger: Logger) async throws -> String {
        guard let mode = Mode(rawValue: mode) else {
            throw ConfigError(code: .invalid, setting: "mode", message: "'\(mode)' is not a setup mode",
                              fix: "run certyo-cdc setup listen or certyo-cdc setup poll")
        }
        let names = try tables.map { try CaptureSettings.table($0, setting: .pollTable) }
        if names.isEmpty, mode == .listen {
            throw ConfigError(code: .missing, setting: "--table", message: "no table to capture is given",
                              fix: "give --table schema.table (repeatable)")
        }
        let sql = CaptureSettings.sql(raw)
        if print, raw.value(.postgresDSN) == nil {
            return try await self.sql(mode, tables: names, versionColumn: versionColumn, sql: sql, connection: nil)
        }
        let postgres = try CaptureSettings.postgres(raw)
        return try await PostgresConnection.withConnection(configuration: postgres, logger: logger) { connection in
            if print {
                return try await self.sql(mode, tables: names, versionColumn: versionColumn, sql: sql,
                                          connection: connection)
            }
            try await install(mode, tables: names, versionColumn: versionColumn, sql: sql, connection: connection)
            return "setup \(mode.rawValue) done for \(names.map(\.description).joined(separator: ", "))\n"
        }
    }
}
