import CDCCore
import PostgresBridge

extension TableColumns {
    /// The decoder's view of a table from the bridge's catalog rows: columns in ordinal order, the primary key in
    /// key order. The one mapping every capture path and `prove` use.
    public init(_ table: CatalogTable) {
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

extension TableName {
    public init(_ name: QualifiedTableName) {
        self.init(schema: name.schema, table: name.table)
    }
}
