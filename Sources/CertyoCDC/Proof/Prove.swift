import CDCCore
import CertyoClient
import Foundation
import Logging
import PostgresBridge

/// `certyo-cdc prove`: proves one row or a whole table and prints a verdict per row. The command is a thin
/// wrapper; tests run this directly.
public struct Prove: Sendable {
    /// What to prove and how to print it.
    public struct Configuration: Sendable {
        /// The table, `schema.table`.
        public var table: TableName
        /// The row's primary key, text per key column in key order; `nil` proves every row of the table.
        public var key: [String]?
        /// The row's key as `column=value` pairs (composite keys); mapped onto key order when the table is read.
        public var namedKey: [String: String]?
        /// JSON lines instead of text. Default: `false`.
        public var json = false
        /// The records' `database` at Certyo; `nil` for the connected database's name. Default: `nil`.
        public var database: String?
        /// Columns left out of payloads, as the pipeline leaves them out. Default: none.
        public var excludedColumns: Set<String> = []
        /// Rows per query for a whole table. Default: `100`.
        public var batchSize = 100
        /// Attempts per Certyo call on 429/5xx/timeouts before giving up. Default: `6`.
        public var maximumAttempts = 6
        /// How often a whole-table run reports progress on standard error. Default: every `1000` rows.
        public var progressEvery = 1000

        public init(table: TableName) {
            self.table = table
        }
    }

    /// The exit codes of `certyo-cdc prove`.
    public enum ExitCode {
        /// Nothing tampered with (rows may be intact, deleted, not anchored yet or unknown to Certyo).
        public static let ok: Int32 = 0
        /// At least one row was tampered with.
        public static let tampered: Int32 = 1
        /// A configuration or usage mistake (the line names the setting or flag).
        public static let configuration: Int32 = 2
        /// Certyo's proof for a matching row did not lead to its anchored root (and nothing was tampered with).
        public static let proofRejected: Int32 = 3
        /// PostgreSQL or Certyo could not be reached, or a row could not be read (and nothing was tampered with).
        public static let operational: Int32 = 4
    }

    public var configuration: Configuration
    public var postgres: PostgresConfiguration
    public var certyo: CertyoClient.Configuration
    public var logger: Logger

    /// - Parameters:
    ///   - configuration: What to prove.
    ///   - dsn: The captured database (`PG_DSN`); the canonical session settings are added here.
    ///   - certyo: The Certyo client's configuration.
    ///   - logger: Receives retry warnings.
    /// - Throws: A ``ConfigError`` naming `PG_DSN` when libpq cannot parse the DSN (never showing the password).
    public init(configuration: Configuration, dsn: String, certyo: CertyoClient.Configuration,
                logger: Logger) throws {
        self.configuration = configuration
        var postgres: PostgresConfiguration
        do {
            postgres = try CanonicalRowReader.sessionConfiguration(dsn: dsn)
        } catch let error as PostgresError {
            throw ConfigError(code: .invalid, setting: Setting.postgresDSN.name, message: error.message,
                              fix: "give a libpq connection string: postgresql://user:pass@host:5432/db or host=... dbname=...")
        }
        postgres.sessionSettings = PostgresConfiguration.SessionSetting.canonicalTextOutput
        postgres.applicationName = "certyo-cdc-prove"
        self.postgres = postgres
        self.certyo = certyo
        self.logger = logger
    }

    /// Proves, printing verdicts through `output` (one line each, standard output) and progress and errors through
    /// `diagnostics` (standard error).
    ///
    /// - Returns: The exit code (``ExitCode``).
    public func run(output: @escaping (String) -> Void, diagnostics: @escaping (String) -> Void) async -> Int32 {
        var summary = TableProver<RetryingCertyoProofSource<ContinuousClock>>.Summary()
        do {
            return try await withCertyoClient(configuration: certyo, logger: logger) { client in
                try await PostgresConnection.withConnection(configuration: postgres, logger: logger) { connection in
                    let reader = try await CanonicalRowReader(
                        table: configuration.table, excludedColumns: configuration.excludedColumns,
                        connection: connection
                    )
                    let database: String
                    if let configured = configuration.database {
                        database = configured
                    } else {
                        database = try await connection.query("SELECT current_database()::text").first?[0] ?? ""
                    }
                    let retrying = CertyoRetrying(
                        maximumAttempts: configuration.maximumAttempts, clock: ContinuousClock(), logger: logger,
                        label: "prove"
                    )
                    let prover = TableProver(
                        reader: reader,
                        prover: RowProver(
                            source: RetryingCertyoProofSource(client: client, retrying: retrying), database: database)
                    )
                    if let key = try keyInOrder(reader) {
                        let proof: RowProof
                        do {
                            proof = try await prover.proveRow(key: key, on: connection)
                        } catch let error as PostgresError where error.sqlState?.errorClass == "22" {
                            throw ConfigError(
                                code: .invalid, setting: configuration.key == nil ? "--key" : "--id",
                                message: "the key is not valid for \(reader.keyColumnNames.joined(separator: ", ")) of "
                                    + "\(configuration.table): \(error.message)",
                                fix: "give the primary key's value as PostgreSQL accepts it for its type"
                            )
                        }
                        output(format(proof))
                        return Self.exitCode(summaryOf: [proof.verdict])
                    }
                    var rows = 0
                    summary = try await prover.proveTable(
                        batchSize: configuration.batchSize, on: connection,
                        onRow: { proof in
                            rows += 1
                            output(format(proof))
                            if rows % configuration.progressEvery == 0 {
                                diagnostics("proving \(configuration.table): \(rows) rows done")
                            }
                        },
                        onError: { key, error in
                            diagnostics("certyo-cdc prove: row \(key.map { $0 ?? "NULL" }.joined(separator: ",")) "
                                + "cannot be read as a canonical row: \(error)")
                        }
                    )
                    output(format(summary))
                    if summary.errors > 0, summary[.tampered] == 0 { return ExitCode.operational }
                    return Self.exitCode(summary: summary)
                }
            }
        } catch let error as ConfigError {
            diagnostics("certyo-cdc prove: \(error)")
            return ExitCode.configuration
        } catch let error as PostgresError where error.code == .tableNotFound {
            diagnostics("certyo-cdc prove: configuration error: --table: \(error)")
            return ExitCode.configuration
        } catch {
            diagnostics("certyo-cdc prove: cannot finish: \(error)")
            if summary[.tampered] > 0 { return ExitCode.tampered }
            return ExitCode.operational
        }
    }

    /// The key in key order, or `nil` for a whole table.
    private func keyInOrder(_ reader: CanonicalRowReader) throws -> [String]? {
        let columns = reader.keyColumnNames
        if let key = configuration.key {
            guard key.count == columns.count else {
                throw ConfigError(
                    code: .invalid, setting: "--id",
                    message: "\(configuration.table) has a primary key of \(columns.count) columns "
                        + "(\(columns.joined(separator: ", ")))",
                    fix: "give each key column as --key column=value"
                )
            }
            return key
        }
        if let named = configuration.namedKey {
            guard Set(named.keys) == Set(columns) else {
                throw ConfigError(
                    code: .invalid, setting: "--key",
                    message: "the primary key of \(configuration.table) is (\(columns.joined(separator: ", "))), "
                        + "--key named (\(named.keys.sorted().joined(separator: ", ")))",
                    fix: "give exactly the key columns: "
                        + columns.map { "--key \($0)=..." }.joined(separator: " ")
                )
            }
            return columns.map { named[$0]! }
        }
        return nil
    }

    static func exitCode(summaryOf verdicts: [ProofVerdict]) -> Int32 {
        var summary = TableProver<RetryingCertyoProofSource<ContinuousClock>>.Summary()
        for verdict in verdicts { summary.counts[verdict, default: 0] += 1 }
        return exitCode(summary: summary)
    }

    /// 1 when anything was tampered with, else 3 when a proof was rejected, else 0.
    public static func exitCode<Source>(summary: TableProver<Source>.Summary) -> Int32 {
        if summary[.tampered] > 0 { return ExitCode.tampered }
        if summary[.proofRejected] > 0 { return ExitCode.proofRejected }
        return ExitCode.ok
    }

    // MARK: Output

    private func format(_ proof: RowProof) -> String {
        if configuration.json { return Self.json(proof) }
        var line = "\(proof.collection) \(proof.recordId): \(proof.verdict)"
        if configuration.key != nil || configuration.namedKey != nil || proof.verdict != .intact {
            line += " — \(proof.detail)"
            line += "\n  row hash: \(proof.computedHash)\(proof.rowPresent ? "" : " (the deletion's payload)")"
            if let latest = proof.latestHash {
                line += "\n  Certyo's latest version: \(latest) (\(proof.latestOperation ?? "no operation"), accepted "
                    + "\(proof.latestAcceptedAt ?? "?"))"
            }
            if let root = proof.merkleRoot, let anchor = proof.anchor {
                line += "\n  Merkle root: \(root), anchored on \(anchor.chain): tx \(anchor.txHash), block "
                    + "\(anchor.blockNumber), \(anchor.anchoredAt)"
            }
        }
        return line
    }

    private func format<Source>(_ summary: TableProver<Source>.Summary) -> String {
        if configuration.json {
            var object: [String: Any] = ["table": configuration.table.description, "rows": summary.rows,
                                         "errors": summary.errors]
            for verdict in ProofVerdict.all { object[verdict.code] = summary[verdict] }
            return Self.serialise(["summary": object])
        }
        let counts = ProofVerdict.all.map { "\(summary[$0]) \($0)" }.joined(separator: ", ")
        return "\(configuration.table): \(summary.rows) rows: \(counts)"
            + (summary.errors > 0 ? ", \(summary.errors) unreadable" : "")
    }

    static func json(_ proof: RowProof) -> String {
        var object: [String: Any] = [
            "collection": proof.collection, "recordId": proof.recordId, "verdict": proof.verdict.code,
            "rowHash": proof.computedHash, "rowPresent": proof.rowPresent, "detail": proof.detail,
        ]
        if let value = proof.latestHash { object["latestHash"] = value }
        if let value = proof.latestOperation { object["latestOperation"] = value }
        if let value = proof.latestAcceptedAt { object["latestAcceptedAt"] = value }
        if let value = proof.merkleRoot { object["merkleRoot"] = value }
        if let anchor = proof.anchor {
            object["anchor"] = [
                "chain": anchor.chain, "txHash": anchor.txHash, "blockNumber": anchor.blockNumber,
                "anchoredAt": anchor.anchoredAt,
            ] as [String: Any]
        }
        return serialise(object)
    }

    private static func serialise(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
