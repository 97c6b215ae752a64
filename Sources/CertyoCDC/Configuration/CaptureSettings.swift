import PostgresBridge

/// Loading the settings of `certyo-cdc listen`, `poll` and `setup` (README, "Without Kafka: LISTEN/NOTIFY and
/// polling"). The Certyo settings and batching limits are those of `certyo-cdc run` (``CertyoCDCConfiguration``).
public enum CaptureSettings {
    /// `PG_DSN` as a ``PostgresConfiguration``.
    /// - Throws: A ``ConfigError`` when it is missing or libpq cannot parse it (the message never holds the password).
    public static func postgres(_ raw: RawSettings) throws -> PostgresConfiguration {
        guard let dsn = raw.value(.postgresDSN) else {
            throw ConfigError(code: .missing, setting: Setting.postgresDSN.name,
                              message: "listen, poll and setup read the captured database and no PG_DSN is set",
                              fix: "set PG_DSN, e.g. postgresql://certyo_cdc:...@db:5432/productdb")
        }
        do {
            var configuration = try PostgresConfiguration(dsn: dsn)
            configuration.dsnName = "PG_DSN"
            return configuration
        } catch let error as PostgresError {
            throw ConfigError(code: .invalid, setting: Setting.postgresDSN.name, message: error.message,
                              fix: error.hint ?? "write it as postgresql://user:password@host:port/database")
        }
    }

    /// `schema.table` (or `table`, in `public`) as a table name. Quotes are not needed: names are matched exactly.
    /// - Throws: A ``ConfigError`` naming `setting` when the name is empty or has more than one dot.
    public static func table(_ text: String, setting: Setting) throws -> QualifiedTableName {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1 where !parts[0].isEmpty:
            return QualifiedTableName(schema: "public", table: parts[0])
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty:
            return QualifiedTableName(schema: parts[0], table: parts[1])
        default:
            throw ConfigError(code: .invalid, setting: setting.name, message: "'\(text)' is not a table name",
                              fix: "give schema.table, e.g. public.products")
        }
    }

    /// The `_certyo_*` tables' schema. Default: `public`.
    public static func sql(_ raw: RawSettings) -> CaptureSQL {
        CaptureSQL(schema: raw.value(.captureSchema) ?? "public")
    }

    /// The listener's settings.
    /// - Throws: A ``ConfigError`` naming the first setting that is missing or wrong, and the fix.
    public static func listener(_ raw: RawSettings, base: CertyoCDCConfiguration) throws -> ListenerConfiguration {
        var configuration = ListenerConfiguration(postgres: try postgres(raw))
        configuration.sql = sql(raw)
        configuration.batching = base.pipeline.batching
        configuration.delivery = base.pipeline.delivery
        if let value = raw.value(.listenWakeInterval) {
            configuration.wakeInterval = try SettingParser.duration(value, .listenWakeInterval)
        }
        return configuration
    }

    /// The poller's settings.
    /// - Throws: A ``ConfigError`` naming the first setting that is missing or wrong, and the fix.
    public static func poller(_ raw: RawSettings, base: CertyoCDCConfiguration) throws -> PollerConfiguration {
        guard let tableText = raw.value(.pollTable) else {
            throw ConfigError(code: .missing, setting: Setting.pollTable.name, message: "no table to poll is set",
                              fix: "give --table schema.table")
        }
        var configuration = PollerConfiguration(postgres: try postgres(raw),
                                                table: try table(tableText, setting: .pollTable))
        configuration.sql = sql(raw)
        configuration.batching = base.pipeline.batching
        configuration.delivery = base.pipeline.delivery
        if let column = raw.value(.pollColumn) { configuration.versionColumn = column }
        configuration.deletedColumn = raw.value(.pollDeletedColumn)
        if let value = raw.value(.pollInterval) {
            configuration.interval = try SettingParser.duration(value, .pollInterval)
        }
        if let value = raw.value(.pollOverlap) {
            configuration.overlap = try SettingParser.duration(value, .pollOverlap)
        }
        return configuration
    }
}
