/// A PostgreSQL SQLSTATE error code (five characters, e.g. `28P01`), as the server reported it.
///
/// The first two characters are the class (`08` connection exception, `28` invalid authorization, `42` syntax
/// error or access rule violation, ...). See the PostgreSQL manual, appendix A "Error Codes".
public struct SQLState: Hashable, Sendable, RawRepresentable {
    /// The five-character code, e.g. `"42P01"`.
    public let rawValue: String

    /// Wraps a SQLSTATE code as the server sent it.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The two-character class, e.g. `"08"` for connection exceptions.
    public var errorClass: String { String(rawValue.prefix(2)) }

    /// `28P01` invalid_password: the password (or its SCRAM proof) was rejected.
    public static let invalidPassword = SQLState(rawValue: "28P01")
    /// `28000` invalid_authorization_specification: no `pg_hba.conf` entry, or the role may not log in.
    public static let invalidAuthorizationSpecification = SQLState(rawValue: "28000")
    /// `3D000` invalid_catalog_name: the database does not exist.
    public static let invalidCatalogName = SQLState(rawValue: "3D000")
    /// `42P01` undefined_table: a table or view does not exist.
    public static let undefinedTable = SQLState(rawValue: "42P01")
    /// `42703` undefined_column: a column does not exist.
    public static let undefinedColumn = SQLState(rawValue: "42703")
    /// `42601` syntax_error.
    public static let syntaxError = SQLState(rawValue: "42601")
    /// `42501` insufficient_privilege.
    public static let insufficientPrivilege = SQLState(rawValue: "42501")
    /// `22P02` invalid_text_representation: a parameter could not be parsed as its type.
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")
    /// `57014` query_canceled: the statement was cancelled (by us, or by `statement_timeout`).
    public static let queryCanceled = SQLState(rawValue: "57014")
    /// `57P01` admin_shutdown: the server is shutting down.
    public static let adminShutdown = SQLState(rawValue: "57P01")
    /// `57P03` cannot_connect_now: the server is starting up or in recovery.
    public static let cannotConnectNow = SQLState(rawValue: "57P03")
    /// `53300` too_many_connections.
    public static let tooManyConnections = SQLState(rawValue: "53300")
    /// `40001` serialization_failure.
    public static let serializationFailure = SQLState(rawValue: "40001")
    /// `40P01` deadlock_detected.
    public static let deadlockDetected = SQLState(rawValue: "40P01")
}

// MARK: - SQLState + CustomStringConvertible

extension SQLState: CustomStringConvertible {
    public var description: String { rawValue }
}
