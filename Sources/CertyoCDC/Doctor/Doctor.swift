import CertyoClient
import Foundation
import KafkaBridge
import Logging
import PostgresBridge

/// `certyo-cdc doctor`: checks a deployment end to end, one ``DoctorCheck`` per line.
///
/// PostgreSQL (from the catalog): the connection, `wal_level`, `max_slot_wal_keep_size`, the publication and its
/// tables, the replica identity of each published table, the replication slot. Certyo: a harmless authenticated
/// read (`GET /api/v1/records` of a record that does not exist). Kafka: the brokers answer, and each published
/// table's topic `<prefix>.<schema>.<table>` exists. Nothing is written anywhere.
public struct Doctor: Sendable {
    /// What to check.
    public struct Configuration: Sendable {
        /// libpq DSN (`PG_DSN`). Default: none (the PostgreSQL checks fail, saying so).
        public var postgresDSN: String?
        /// The connector's `slot.name`. Default: `certyo_slot`.
        public var slotName = "certyo_slot"
        /// The connector's `publication.name`. Default: `certyo_publication`.
        public var publicationName = "certyo_publication"
        /// The connector's `topic.prefix`. Default: `certyo`.
        public var topicPrefix = "certyo"
        /// The Certyo API to probe.
        public var certyo: CertyoClient.Configuration
        /// Kafka bootstrap servers. Default: `127.0.0.1:9092`.
        public var bootstrapServers = "127.0.0.1:9092"
        /// librdkafka properties (security, SASL, SSL) for the Kafka check. Default: none.
        public var kafkaProperties: [String: String] = [:]
        /// Bound of each network check (connect + answer). Default: 10 seconds.
        public var timeout: Duration = .seconds(10)

        public init(certyo: CertyoClient.Configuration) {
            self.certyo = certyo
        }

        /// The checks for what `run` would use with the same settings, plus `doctor`'s own
        /// (`CERTYO_PUBLICATION`, `CERTYO_TOPIC_PREFIX`).
        public init(_ configuration: CertyoCDCConfiguration, raw: RawSettings) throws {
            self.init(certyo: configuration.certyo)
            postgresDSN = configuration.postgresDSN
            slotName = configuration.slot.slotName
            bootstrapServers = configuration.pipeline.consumer.bootstrapServers
            kafkaProperties = configuration.pipeline.consumer.additionalProperties
            if let publication = raw.value(.publicationName) {
                guard !publication.isEmpty, publication.count <= 63 else {
                    throw ConfigError(code: .invalid, setting: Setting.publicationName.name,
                                      message: "'\(publication)' is not a publication name",
                                      fix: "give the connector's publication.name, e.g. certyo_publication")
                }
                publicationName = publication
            }
            if let prefix = raw.value(.topicPrefix) {
                guard prefix.range(of: #"^[A-Za-z0-9._-]{1,200}$"#, options: .regularExpression) != nil else {
                    throw ConfigError(code: .invalid, setting: Setting.topicPrefix.name,
                                      message: "'\(prefix)' is not a Kafka topic prefix",
                                      fix: "give the connector's topic.prefix, e.g. certyo")
                }
                topicPrefix = prefix
            }
        }
    }

    public var configuration: Configuration
    private let logger: Logger

    /// - Parameters:
    ///   - configuration: What to check.
    ///   - logger: Receives the clients' own log lines (librdkafka, libpq at debug level); the results are returned.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs every check; each result is also passed to `report` as soon as it is known.
    ///
    /// - Returns: The results in order. The deployment is healthy when none has status ``DoctorCheck/Status/fail``.
    @discardableResult
    public func run(report: (DoctorCheck) -> Void = { _ in }) async -> [DoctorCheck] {
        var results: [DoctorCheck] = []
        func add(_ check: DoctorCheck) {
            results.append(check)
            report(check)
        }
        let tables = await checkPostgres(add)
        await checkCertyo(add)
        await checkKafka(tables: tables, add)
        return results
    }

    // MARK: - PostgreSQL

    /// Runs the PostgreSQL checks; returns the published tables (`schema.table`), `nil` when unknown.
    private func checkPostgres(_ add: (DoctorCheck) -> Void) async -> [String]? {
        guard let dsn = configuration.postgresDSN else {
            add(DoctorCheck("postgres", .fail, "PG_DSN is not set: nothing in PostgreSQL can be checked",
                            fix: "set PG_DSN to the captured database, e.g. postgresql://certyo_cdc@db:5432/app"))
            return nil
        }
        let connection: PostgresConnection
        do {
            var postgres = try PostgresConfiguration(dsn: dsn)
            postgres.dsnName = "PG_DSN"
            postgres.applicationName = "certyo-cdc-doctor"
            if postgres.connectTimeout > configuration.timeout { postgres.connectTimeout = configuration.timeout }
            connection = try await PostgresConnection.connect(configuration: postgres, logger: logger)
        } catch let error as PostgresError {
            add(DoctorCheck("postgres", .fail, "\(error.operation) \(error.target): \(error.message)",
                            fix: error.hint ?? "check PG_DSN's host, port, database, user and password"))
            return nil
        } catch {
            add(DoctorCheck("postgres", .fail, "cannot connect: \(type(of: error))", fix: "check PG_DSN"))
            return nil
        }
        do {
            let version = try await connection.query("SHOW server_version").first?[0] ?? "?"
            add(DoctorCheck("postgres", .ok, "connected to \(connection.target) (PostgreSQL \(version))"))
            try await checkWALSettings(connection, add)
            let tables = try await checkPublication(connection, add)
            try await checkSlot(connection, add)
            await connection.close()
            return tables
        } catch let error as PostgresError {
            add(DoctorCheck("postgres", .fail, "catalog query failed: \(error.message)",
                            fix: error.hint ?? "give PG_DSN's user read access to the pg_catalog views"))
            await connection.close()
            return nil
        } catch {
            add(DoctorCheck("postgres", .fail, "catalog query failed: \(type(of: error))", fix: "check PG_DSN"))
            await connection.close()
            return nil
        }
    }

    private func checkWALSettings(_ connection: PostgresConnection, _ add: (DoctorCheck) -> Void) async throws {
        let walLevel = try await connection.query("SHOW wal_level").first?[0] ?? ""
        if walLevel == "logical" {
            add(DoctorCheck("wal_level", .ok, "logical"))
        } else {
            add(DoctorCheck("wal_level", .fail, "\(walLevel): logical decoding (Debezium) needs logical",
                            fix: "set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical)"
                                + " and restart PostgreSQL"))
        }
        let keep = try await connection.query("SHOW max_slot_wal_keep_size").first?[0] ?? ""
        if keep == "-1" {
            add(DoctorCheck("max_slot_wal_keep_size", .warn,
                            "-1 (unlimited): a stopped connector keeps WAL until the disk fills",
                            fix: "ALTER SYSTEM SET max_slot_wal_keep_size = '<below the free WAL disk>' (e.g. '50GB');"
                                + " SELECT pg_reload_conf()"))
        } else {
            add(DoctorCheck("max_slot_wal_keep_size", .ok, keep))
        }
    }

    private func checkPublication(_ connection: PostgresConnection, _ add: (DoctorCheck) -> Void) async throws
        -> [String]?
    {
        let name = configuration.publicationName
        let publication = try await connection.query(
            "SELECT puballtables, pubinsert, pubupdate, pubdelete FROM pg_catalog.pg_publication WHERE pubname = $1",
            [name])
        guard let row = publication.first else {
            add(DoctorCheck("publication", .fail, "publication \(name) does not exist",
                            fix: "run deploy/postgres-init/certyo-cdc.sql, or CREATE PUBLICATION \(name) FOR TABLE"
                                + " <captured tables>; or set CERTYO_PUBLICATION to the connector's publication.name"))
            return nil
        }
        let rows = try await connection.query("""
            SELECT pt.schemaname::text AS schema, pt.tablename::text AS name, c.relreplident::text AS identity
            FROM pg_catalog.pg_publication_tables pt
            JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname
            JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
            WHERE pt.pubname = $1
            ORDER BY 1, 2
            """, [name])
        let tables = rows.map { "\($0[column: "schema"] ?? "").\($0[column: "name"] ?? "")" }
        let missingActions = [("insert", row[column: "pubinsert"]), ("update", row[column: "pubupdate"]),
                              ("delete", row[column: "pubdelete"])].filter { $0.1 != "t" }.map(\.0)
        if tables.isEmpty {
            add(DoctorCheck("publication", .fail, "publication \(name) lists no tables",
                            fix: "ALTER PUBLICATION \(name) ADD TABLE <schema.table>, ..."))
        } else if !missingActions.isEmpty {
            add(DoctorCheck("publication", .fail,
                            "publication \(name) does not publish \(missingActions.joined(separator: ", "))",
                            fix: "ALTER PUBLICATION \(name) SET (publish = 'insert, update, delete, truncate')"))
        } else {
            let scope = row[column: "puballtables"] == "t" ? "all tables: " : ""
            add(DoctorCheck("publication", .ok, "\(name) publishes \(scope)\(tables.joined(separator: ", "))"))
        }
        let notFull = rows.filter { $0[column: "identity"] != "f" }.map { row in
            let identity: String
            switch row[column: "identity"] {
            case "d": identity = "DEFAULT"
            case "n": identity = "NOTHING"
            case "i": identity = "USING INDEX"
            default: identity = row[column: "identity"] ?? "?"
            }
            return ("\(row[column: "schema"] ?? "").\(row[column: "name"] ?? "")", identity)
        }
        if notFull.isEmpty {
            if !tables.isEmpty { add(DoctorCheck("replica_identity", .ok, "FULL on every published table")) }
        } else {
            add(DoctorCheck("replica_identity", .fail,
                            notFull.map { "\($0.0) is \($0.1)" }.joined(separator: ", ")
                                + ": updates and deletes would not carry the whole row",
                            fix: notFull.map { "ALTER TABLE \($0.0) REPLICA IDENTITY FULL;" }.joined(separator: " ")))
        }
        return tables
    }

    private func checkSlot(_ connection: PostgresConnection, _ add: (DoctorCheck) -> Void) async throws {
        let name = configuration.slotName
        guard let slot = try await connection.replicationSlot(named: name) else {
            add(DoctorCheck("slot", .fail, "replication slot \(name) does not exist",
                            fix: "start the Debezium connector (it creates slot.name on its first start), or set"
                                + " CERTYO_SLOT_NAME to the connector's slot.name"))
            return
        }
        let retained = slot.retainedBytes.map { "retains \($0) bytes of WAL" } ?? "retains no WAL"
        let status = slot.walStatus?.rawValue ?? "null"
        if slot.slotType != "logical" || slot.plugin != "pgoutput" {
            add(DoctorCheck("slot", .fail,
                            "\(name) is a \(slot.slotType) slot with plugin \(slot.plugin ?? "none"), not pgoutput",
                            fix: "use a logical slot with plugin.name=pgoutput: drop this one"
                                + " (SELECT pg_drop_replication_slot('\(name)')) when no connector uses it"))
        } else if slot.walStatus == .lost {
            add(DoctorCheck("slot", .fail, "\(name) has wal_status lost: WAL it needed was removed, changes were lost",
                            fix: "drop the slot, restart the connector with a new snapshot (snapshot.mode=when_needed"
                                + " or initial), and raise max_slot_wal_keep_size"))
        } else if slot.walStatus == .unreserved {
            add(DoctorCheck("slot", .warn, "\(name) has wal_status unreserved (\(retained)): WAL will be lost soon",
                            fix: "get the connector streaming again now, or raise max_slot_wal_keep_size"))
        } else if !slot.isActive {
            add(DoctorCheck("slot", .warn, "\(name) is not active (\(retained), wal_status \(status)):"
                                + " no connector streams from it",
                            fix: "check the connector: GET /connectors/<name>/status on Kafka Connect"))
        } else {
            add(DoctorCheck("slot", .ok, "\(name) active, wal_status \(status), \(retained)"))
        }
    }

    // MARK: - Certyo

    private func checkCertyo(_ add: (DoctorCheck) -> Void) async {
        var certyo = configuration.certyo
        if certyo.requestTimeout > configuration.timeout { certyo.requestTimeout = configuration.timeout }
        if certyo.connectTimeout > configuration.timeout { certyo.connectTimeout = configuration.timeout }
        let base = certyo.baseURL
        let tenant = certyo.tenantId
        do {
            try await withCertyoClient(configuration: certyo, logger: logger) { client in
                _ = try await client.records(database: "certyo-cdc-doctor", collection: "doctor.probe",
                                             recordId: "doctor", limit: 1)
            }
            add(DoctorCheck("certyo", .ok, "\(base) accepts the API key for tenant \(tenant)"))
        } catch let error as CertyoError {
            switch error.code {
            case .notFound:
                add(DoctorCheck("certyo", .ok, "\(base) accepts the API key for tenant \(tenant)"))
            case .unauthorized, .forbidden:
                add(DoctorCheck("certyo", .fail,
                                "\(base) refuses the API key or tenant \(tenant) (HTTP \(error.status.map(String.init) ?? "?"))",
                                fix: "set CERTYO_API_KEY (or CERTYO_API_KEY_FILE) to a valid key and CERTYO_TENANT_ID to"
                                    + " its tenant"))
            case .connectionFailed, .timeout:
                add(DoctorCheck("certyo", .fail, "\(base) is unreachable: \(error.message)",
                                fix: "check CERTYO_BASE_URL, DNS, proxies and the firewall towards Certyo"))
            default:
                add(DoctorCheck("certyo", .warn, "\(base) answered \(error.status.map { "HTTP \($0)" } ?? "")"
                                    + " \(error.code): \(error.message)",
                                fix: error.fix ?? "run doctor again; if it lasts, check Certyo's status"))
            }
        } catch {
            add(DoctorCheck("certyo", .fail, "cannot probe \(base): \(type(of: error))",
                            fix: "check CERTYO_BASE_URL"))
        }
    }

    // MARK: - Kafka

    private func checkKafka(tables: [String]?, _ add: (DoctorCheck) -> Void) async {
        let servers = configuration.bootstrapServers
        let metadata: KafkaClusterMetadata
        do {
            metadata = try await KafkaClusterMetadata.fetch(
                bootstrapServers: servers, additionalProperties: configuration.kafkaProperties,
                timeout: configuration.timeout, logger: logger)
        } catch {
            let reason = (error as? KafkaError)?.message ?? "\(type(of: error))"
            add(DoctorCheck("kafka", .fail, "no broker of \(servers) answered: \(reason)",
                            fix: "check KAFKA_BOOTSTRAP_SERVERS and KAFKA_PROPERTIES (security.protocol, sasl.*)"))
            return
        }
        add(DoctorCheck("kafka", .ok, "\(servers): \(metadata.brokers.count) broker(s), \(metadata.topics.count) topic(s)"))

        let prefix = configuration.topicPrefix
        guard let tables, !tables.isEmpty else {
            let found = metadata.topics.filter { $0.name.hasPrefix(prefix + ".") }.map(\.name)
            if found.isEmpty {
                add(DoctorCheck("kafka_topics", .fail, "no topic starts with \(prefix).",
                                fix: "check the connector is RUNNING and its topic.prefix (CERTYO_TOPIC_PREFIX)"))
            } else {
                add(DoctorCheck("kafka_topics", .ok, found.joined(separator: ", ")))
            }
            return
        }
        let expected = tables.map { "\(prefix).\($0)" }
        let missing = expected.filter { metadata.topic(named: $0) == nil }
        if missing.isEmpty {
            add(DoctorCheck("kafka_topics", .ok, expected.joined(separator: ", ")))
        } else if missing.count == expected.count {
            add(DoctorCheck("kafka_topics", .fail, "missing: \(missing.joined(separator: ", "))",
                            fix: "check the connector is RUNNING (GET /connectors/<name>/status), its topic.prefix"
                                + " (CERTYO_TOPIC_PREFIX) and table.include.list"))
        } else {
            add(DoctorCheck("kafka_topics", .warn, "missing: \(missing.joined(separator: ", "))",
                            fix: "a table gets its topic with its first change or snapshot row; if it has rows, check"
                                + " the connector's table.include.list"))
        }
    }
}
