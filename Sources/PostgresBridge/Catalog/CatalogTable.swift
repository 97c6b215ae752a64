/// A table's schema-qualified name, exactly as stored in the catalog (no quoting, no case folding).
public struct QualifiedTableName: Hashable, Sendable, CustomStringConvertible {
    /// The schema (`pg_namespace.nspname`), e.g. `"public"`.
    public var schema: String
    /// The table (`pg_class.relname`), e.g. `"products"`.
    public var table: String

    public init(schema: String, table: String) {
        self.schema = schema
        self.table = table
    }

    /// `schema.table`, unquoted.
    public var description: String { "\(schema).\(table)" }
}

/// A table's `REPLICA IDENTITY` (`pg_class.relreplident`): which old values an `UPDATE`/`DELETE` carries in the WAL.
public struct ReplicaIdentity: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    /// The catalog's one-letter code: `d`, `n`, `f` or `i`.
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// `d`: the primary key's old values (nothing if there is no primary key).
    public static let `default` = ReplicaIdentity(rawValue: "d")
    /// `n`: no old values.
    public static let nothing = ReplicaIdentity(rawValue: "n")
    /// `f`: every column's old value.
    public static let full = ReplicaIdentity(rawValue: "f")
    /// `i`: the old values of the columns of a chosen unique index.
    public static let index = ReplicaIdentity(rawValue: "i")

    public var description: String {
        switch self {
        case .default: return "default"
        case .nothing: return "nothing"
        case .full: return "full"
        case .index: return "index"
        default: return rawValue
        }
    }
}

/// The raw catalog facts of one column (`pg_attribute` and `pg_type`), as PostgreSQL reports them.
public struct CatalogColumn: Hashable, Sendable {
    /// The column's name (`attname`).
    public var name: String
    /// Its position (`attnum`, from 1). Dropped columns leave gaps.
    public var ordinal: Int
    /// Its declared type as `format_type(atttypid, atttypmod)` prints it, e.g. `numeric(12,2)`,
    /// `timestamp(3) without time zone`, `text[]`.
    public var typeName: String
    /// The type's OID (`atttypid`).
    public var typeOID: PostgresTypeOID
    /// The type's category (`pg_type.typcategory`), one letter: `N` numeric, `S` string, `D` date/time,
    /// `B` boolean, `U` user-defined (`uuid`, `jsonb`, `bytea`...), `A` array, `T` timespan, `E` enum, ...
    public var typeCategory: String
    /// Whether the column is `NOT NULL` (`attnotnull`).
    public var isNotNull: Bool
    /// The column's position (from 1) in the primary key, or `nil` when it is not part of it.
    public var primaryKeyPosition: Int?

    public init(
        name: String,
        ordinal: Int,
        typeName: String,
        typeOID: PostgresTypeOID,
        typeCategory: String,
        isNotNull: Bool,
        primaryKeyPosition: Int?
    ) {
        self.name = name
        self.ordinal = ordinal
        self.typeName = typeName
        self.typeOID = typeOID
        self.typeCategory = typeCategory
        self.isNotNull = isNotNull
        self.primaryKeyPosition = primaryKeyPosition
    }
}

/// What the catalog says about one table: its live columns in `attnum` order and its replica identity.
public struct CatalogTable: Hashable, Sendable {
    /// The table's name.
    public var name: QualifiedTableName
    /// Its `REPLICA IDENTITY`.
    public var replicaIdentity: ReplicaIdentity
    /// Its columns in `attnum` order, without dropped and system columns.
    public var columns: [CatalogColumn]

    public init(name: QualifiedTableName, replicaIdentity: ReplicaIdentity, columns: [CatalogColumn]) {
        self.name = name
        self.replicaIdentity = replicaIdentity
        self.columns = columns
    }

    /// The column with this exact name, if any.
    public func column(named name: String) -> CatalogColumn? {
        columns.first { $0.name == name }
    }

    /// The primary key's column names in key order; empty when the table has no primary key.
    public var primaryKey: [String] {
        columns.compactMap { column in column.primaryKeyPosition.map { ($0, column.name) } }
            .sorted { $0.0 < $1.0 }
            .map(\.1)
    }
}
