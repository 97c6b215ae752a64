import CDCCore
import PostgresBridge

// MARK: - TableColumns + CatalogTable

extension TableColumns {
    /// The canonical-row view of a table the PostgreSQL catalog described: columns in ordinal order, each with its
    /// `format_type` and `typcategory`, and the primary key in key order. The one mapping from the libpq bridge's
    /// catalog rows onto CDCCore's types (the decoder's catalog and the row reader of `prove` both use it).
    public init(catalog table: CatalogTable) {
        let columns = table.columns.sorted { $0.ordinal < $1.ordinal }
        let primaryKey = columns.compactMap { column in column.primaryKeyPosition.map { ($0, column.name) } }
            .sorted { $0.0 < $1.0 }.map(\.1)
        self.init(
            columns: columns.map {
                TableColumns.Column(name: $0.name, formatType: $0.typeName, category: $0.typeCategory.first ?? " ")
            },
            primaryKey: primaryKey
        )
    }
}
