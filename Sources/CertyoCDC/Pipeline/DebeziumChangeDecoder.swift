import CDCCore
import PostgresBridge

/// The production ``ChangeDecoder``: CDCCore's Debezium decoder, with the PostgreSQL catalog (through libpq) for
/// schemaless envelopes.
public struct DebeziumChangeDecoder: ChangeDecoder {
    private var decoder: DebeziumDecoder
    private let catalog: CatalogCache?
    private var warnings: [String] = []
    private var warnedTables: Set<TableName> = []

    /// - Parameters:
    ///   - decoder: The decoder, with the connector-mode settings.
    ///   - catalog: Where column types come from; `nil` when no `PG_DSN` is configured (envelopes with schemas only).
    public init(decoder: DebeziumDecoder, catalog: CatalogCache? = nil) {
        self.decoder = decoder
        self.catalog = catalog
    }

    public mutating func decode(_ message: SourceMessage) -> DecodeOutcome {
        decoder.decode(message)
    }

    public mutating func refreshCatalog(for table: TableName) async throws {
        guard let catalog else {
            throw ConfigError(
                code: .missing, setting: Setting.postgresDSN.name,
                message: "\(table) arrives without schemas (value.converter.schemas.enable=false), so certyo-cdc needs "
                    + "the column types from PostgreSQL, and no PG_DSN is set",
                fix: "set PG_DSN to the captured database, or enable schemas in the connector's JsonConverter"
            )
        }
        let loaded = try await catalog.refresh(QualifiedTableName(schema: table.schema, table: table.table))
        decoder.updateCatalog(TableColumns(loaded), for: table)
        if loaded.replicaIdentity != .full, warnedTables.insert(table).inserted {
            warnings.append(
                "\(table) has REPLICA IDENTITY \(loaded.replicaIdentity), not FULL: updates that leave a TOASTed "
                    + "column alone will be dead-lettered; fix: ALTER TABLE \(table) REPLICA IDENTITY FULL"
            )
        }
    }

    public mutating func takeWarnings() -> [String] {
        defer { warnings.removeAll() }
        return warnings + decoder.drainWarnings().map(\.description)
    }
}
