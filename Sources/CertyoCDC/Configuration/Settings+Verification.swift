import CDCCore

// MARK: - Setting + verification worker

extension Setting {
    public static let verifyEnabled = Setting("verify", "CERTYO_VERIFY_ENABLED")
    public static let verifyInterval = Setting("verify-interval", "CERTYO_VERIFY_INTERVAL")
    public static let verifyBatchSize = Setting("verify-batch-size", "CERTYO_VERIFY_BATCH_SIZE")
    public static let verifyConcurrency = Setting("verify-concurrency", "CERTYO_VERIFY_CONCURRENCY")
    public static let verifyGracePeriod = Setting("verify-grace-period", "CERTYO_VERIFY_GRACE_PERIOD")
    public static let verifyTables = Setting("verify-tables", "CERTYO_VERIFY_TABLES")
    public static let verifyPublication = Setting("verify-publication", "CERTYO_VERIFY_PUBLICATION")

    /// The settings of the verification worker, in the order `certyo-cdc run --help` lists them.
    public static let verificationSettings: [Setting] = [
        .verifyEnabled, .verifyInterval, .verifyBatchSize, .verifyConcurrency, .verifyGracePeriod, .verifyTables,
        .verifyPublication,
    ]
}

// MARK: - CertyoCDCConfiguration + verification worker

extension CertyoCDCConfiguration {
    /// Resolves the verification worker's settings into ``verification``.
    ///
    /// - Throws: A ``ConfigError`` naming the setting that is wrong, or `PG_DSN` when the worker is enabled without it.
    mutating func loadVerification(_ raw: RawSettings) throws {
        var verification = VerificationConfiguration()
        if let value = raw.value(.verifyEnabled) {
            verification.enabled = try SettingParser.boolean(value, .verifyEnabled)
        }
        if let value = raw.value(.verifyInterval) {
            verification.interval = try SettingParser.duration(value, .verifyInterval)
        }
        if let value = raw.value(.verifyBatchSize) {
            verification.batchSize = try SettingParser.integer(value, .verifyBatchSize, range: 1...1000)
        }
        if let value = raw.value(.verifyConcurrency) {
            verification.concurrency = try SettingParser.integer(value, .verifyConcurrency, range: 1...64)
        }
        if let value = raw.value(.verifyGracePeriod) {
            verification.gracePeriod = try SettingParser.duration(value, .verifyGracePeriod)
        }
        if let value = raw.value(.verifyTables) {
            verification.tables = try Self.tableList(value, .verifyTables)
        }
        if let value = raw.value(.verifyPublication) { verification.publication = value }
        if verification.enabled, postgresDSN == nil {
            throw ConfigError(
                code: .missing, setting: Setting.postgresDSN.name,
                message: "the verification worker (CERTYO_VERIFY_ENABLED=true) reads the rows from PostgreSQL, and no "
                    + "PG_DSN is set",
                fix: "set PG_DSN to the captured database, or CERTYO_VERIFY_ENABLED=false"
            )
        }
        self.verification = verification
    }

    /// `schema.table[,schema.table...]`.
    static func tableList(_ raw: String, _ setting: Setting) throws -> [TableName] {
        try raw.split(separator: ",").map { entry in
            let parts = entry.split(separator: ".", omittingEmptySubsequences: false)
            let trimmed = parts.map { String($0).trimmingSpaces }
            guard trimmed.count == 2, !trimmed[0].isEmpty, !trimmed[1].isEmpty else {
                throw ConfigError(
                    code: .invalid, setting: setting.name, message: "'\(entry)' is not schema.table",
                    fix: "list tables as schema.table separated by commas, e.g. public.products,public.orders"
                )
            }
            return TableName(schema: trimmed[0], table: trimmed[1])
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
