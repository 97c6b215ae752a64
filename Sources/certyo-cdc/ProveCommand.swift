import ArgumentParser
import CDCCore
import CertyoCDC
import Foundation
import Logging

/// `certyo-cdc prove`: checks that rows now in PostgreSQL are what Certyo anchored. See the README's "Proving a row".
struct ProveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Prove that a row (or every row of a table) still holds what Certyo anchored.",
        discussion: """
            Reads the row in a session with the canonical text settings, hashes its canonical payload, asks Certyo \
            for the latest version and its Merkle proof, and recomputes the proof up to the anchored root. Verdicts: \
            intact, tampered, not anchored yet, unknown to Certyo, deleted, proof rejected. PG_DSN, CERTYO_API_KEY \
            (or CERTYO_API_KEY_FILE), CERTYO_TENANT_ID and CERTYO_BASE_URL come from the environment. Exit codes: \
            0 nothing tampered, 1 tampered, 2 configuration error, 3 proof rejected, 4 PostgreSQL/Certyo unreachable.
            """
    )

    @Option(help: "The table, schema.table (e.g. public.products).")
    var table: String
    @Option(help: "The primary key of one row (one-column keys).")
    var id: String?
    @Option(help: "One key column of one row, column=value (repeat for composite keys).")
    var key: [String] = []
    @Flag(help: "Print JSON lines (one per row, then a summary for a whole table).")
    var json = false
    @Option(help: "The records' database at Certyo (default: the connected database's name, as Debezium sends it).")
    var database: String?
    @Option(name: .customLong("exclude-column"), help: "A column the pipeline leaves out: column or schema.table.column (repeatable).")
    var excludedColumns: [String] = []
    @Option(help: "Rows per query for a whole table.")
    var batchSize: Int = 100
    @Option(name: .customLong("certyo-url"), help: "Certyo base URL (CERTYO_BASE_URL).")
    var certyoURL: String?
    @Option(name: .customLong("certyo-api-key-file"), help: "File holding the API key (CERTYO_API_KEY_FILE).")
    var apiKeyFile: String?
    @Option(name: .customLong("tenant-id"), help: "Certyo tenant (CERTYO_TENANT_ID).")
    var tenantID: String?
    @Option(name: .customLong("request-timeout"), help: "Per-call timeout (CERTYO_REQUEST_TIMEOUT). Default: 30s")
    var requestTimeout: String?

    func run() async throws {
        let parts = table.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            fail(ConfigError(code: .invalid, setting: "--table", message: "'\(table)' is not schema.table",
                             fix: "give the table as schema.table, e.g. public.products"))
        }
        var flags: [Setting: String] = [:]
        let given: [(Setting, String?)] = [
            (.certyoBaseURL, certyoURL), (.certyoAPIKeyFile, apiKeyFile), (.certyoTenantID, tenantID),
            (.requestTimeout, requestTimeout),
        ]
        for case (let setting, let value?) in given { flags[setting] = value }
        var environment = ProcessInfo.processInfo.environment
        environment[Setting.verifyEnabled.environment] = nil  // the worker's settings do not apply here
        let settings: CertyoCDCConfiguration
        do {
            settings = try CertyoCDCConfiguration.load(RawSettings(flags: flags, environment: environment))
        } catch let error as ConfigError {
            fail(error)
        }
        guard let dsn = settings.postgresDSN else {
            fail(ConfigError(code: .missing, setting: Setting.postgresDSN.name,
                             message: "prove reads the row from PostgreSQL, and no PG_DSN is set",
                             fix: "set PG_DSN to the captured database (the password stays out of the command line)"))
        }
        var configuration = Prove.Configuration(table: TableName(schema: String(parts[0]), table: String(parts[1])))
        if let id {
            guard key.isEmpty else {
                fail(ConfigError(code: .conflict, setting: "--id and --key", message: "both are given",
                                 fix: "use --id for a one-column key, --key column=value for each column of a composite key"))
            }
            configuration.key = [id]
        } else if !key.isEmpty {
            var named: [String: String] = [:]
            for entry in key {
                guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                    fail(ConfigError(code: .invalid, setting: "--key", message: "'\(entry)' is not column=value",
                                     fix: "write each key column as --key column=value, e.g. --key order_id=1001"))
                }
                named[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            }
            configuration.namedKey = named
        }
        configuration.json = json
        configuration.database = database
        configuration.excludedColumns = Set(excludedColumns)
        configuration.batchSize = max(1, min(batchSize, 1000))
        bootstrapLogging(level: .warning)
        let prove: Prove
        do {
            prove = try Prove(configuration: configuration, dsn: dsn, certyo: settings.certyo,
                              logger: Logger(label: "certyo-cdc.prove"))
        } catch let error as ConfigError {
            fail(error)
        }
        let code = await prove.run(
            output: { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) },
            diagnostics: { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        )
        if code != 0 { throw ExitCode(code) }
    }

    private func fail(_ error: ConfigError) -> Never {
        FileHandle.standardError.write(Data("certyo-cdc prove: \(error)\n".utf8))
        Foundation.exit(Prove.ExitCode.configuration)
    }
}
