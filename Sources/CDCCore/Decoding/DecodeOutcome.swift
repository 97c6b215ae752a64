/// What the decoder made of one Kafka record. Errors are values: nothing here throws or traps on bad input.
public enum DecodeOutcome: Sendable {
    /// A record to send to Certyo.
    case record(CertyoRecord)
    /// Nothing to send, and the offset is done (a tombstone, a truncate, a logical message).
    case skip(SkipReason)
    /// Must not be anchored or cannot be decoded: it goes to the dead-letter topic with this reason.
    case deadLetter(DeadLetterReason)
    /// A schemaless message for a table, or a column, that the catalog does not know: the caller refreshes the
    /// catalog for `table` and decodes the message again.
    case needsCatalog(table: TableName)
}

/// `schema.table`.
public struct TableName: Sendable, Hashable, CustomStringConvertible {
    public var schema: String
    public var table: String

    public init(schema: String, table: String) {
        self.schema = schema
        self.table = table
    }

    public var description: String { "\(schema).\(table)" }
}

/// Why a record was skipped (done, nothing sent).
public struct SkipReason: Sendable, Hashable, CustomStringConvertible {
    /// A stable machine-readable code, e.g. `tombstone`, `truncate`.
    public var code: String
    /// One line for the log.
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// Why a record was dead-lettered: what, where, and the fix when there is one.
public struct DeadLetterReason: Sendable, Hashable, CustomStringConvertible, Error {
    /// A stable machine-readable code, e.g. `malformed_envelope`, `toast_placeholder`.
    public var code: String
    /// What went wrong and where (table, column, JSON path).
    public var message: String
    /// What the operator should change, when there is a fix.
    public var fix: String?

    public init(code: String, message: String, fix: String? = nil) {
        self.code = code
        self.message = message
        self.fix = fix
    }

    public var description: String {
        fix.map { "\(code): \(message) (fix: \($0))" } ?? "\(code): \(message)"
    }
}
