import Crypto

/// The deterministic `idempotencyKey` of a change, derived from its source position (never a clock, never Kafka
/// coordinates, which change when Connect resends).
///
/// Format: `dbz1:<database>:<schema.table>:<lsn>:<op>:<recordId>`, or, when the record id is longer than
/// 64 bytes, `dbz1:<database>:<schema.table>:<lsn>:<op>:sha256=<first 32 hex digits of SHA-256(recordId)>`.
/// The LSN alone is not unique: all snapshot reads share one LSN, and a primary-key change emits a `d` and a `c`
/// at one LSN, so the operation and the key complete it.
enum IdempotencyKey {
    static let maximumInlineIdLength = 64

    static func make(database: String, table: TableName, lsn: Int64, op: String, recordId: String) -> String {
        make(scheme: "dbz1", database: database, table: table, position: String(lsn), op: op, recordId: recordId)
    }

    /// `<scheme>:<database>:<schema.table>:<position>:<op>:<recordId or sha256=...>`.
    static func make(
        scheme: String, database: String, table: TableName, position: String, op: String, recordId: String
    ) -> String {
        let id: String
        if recordId.utf8.count <= maximumInlineIdLength {
            id = recordId
        } else {
            let digest = SHA256.hash(data: Array(recordId.utf8))
            id = "sha256=" + digest.prefix(16).map { byte in
                String(decoding: [JCS.hexDigit(byte >> 4), JCS.hexDigit(byte & 0xF)], as: UTF8.self)
            }.joined()
        }
        var key: [UInt8] = []
        key.reserveCapacity(32 + database.utf8.count + table.schema.utf8.count + table.table.utf8.count + id.utf8.count)
        key.append(contentsOf: scheme.utf8)
        key.append(UInt8(ascii: ":"))
        key.append(contentsOf: database.utf8)
        key.append(UInt8(ascii: ":"))
        key.append(contentsOf: table.schema.utf8)
        key.append(UInt8(ascii: "."))
        key.append(contentsOf: table.table.utf8)
        key.append(UInt8(ascii: ":"))
        key.append(contentsOf: position.utf8)
        key.append(UInt8(ascii: ":"))
        key.append(contentsOf: op.utf8)
        key.append(UInt8(ascii: ":"))
        key.append(contentsOf: id.utf8)
        return String(decoding: key, as: UTF8.self)
    }
}
