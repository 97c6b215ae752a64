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
    private static let dbz1Scheme = Array("dbz1".utf8)

    /// The Debezium path's key (`dbz1`), built in `scratch` (a buffer the caller reuses, so the only allocation is
    /// the `String`).
    static func make(
        database: String, table: TableName, lsn: Int64, op: String, recordId: String, scratch key: inout [UInt8]
    ) -> String {
        build(scheme: dbz1Scheme, database: database, table: table, op: op, recordId: recordId, into: &key) {
            appendDecimal(lsn, to: &$0)
        }
    }

    /// `<scheme>:<database>:<schema.table>:<position>:<op>:<recordId or sha256=...>`.
    static func make(
        scheme: String, database: String, table: TableName, position: String, op: String, recordId: String
    ) -> String {
        var scratch: [UInt8] = []
        return build(scheme: Array(scheme.utf8), database: database, table: table, op: op, recordId: recordId, into: &scratch) {
            $0.append(contentsOf: position.utf8)
        }
    }

    private static func build(
        scheme: [UInt8], database: String, table: TableName, op: String, recordId: String,
        into key: inout [UInt8], position: (inout [UInt8]) -> Void
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
        key.removeAll(keepingCapacity: true)
        key.reserveCapacity(32 + database.utf8.count + table.schema.utf8.count + table.table.utf8.count + id.utf8.count)
        key.append(contentsOf: scheme)
        key.append(UInt8(ascii: ":"))
        key.append(contentsOf: database.utf8)
        key.append(UInt8(ascii: ":"))
        key.append(contentsOf: table.schema.utf8)
        key.append(UInt8(ascii: "."))
        key.append(contentsOf: table.table.utf8)
        key.append(UInt8(ascii: ":"))
        position(&key)
        key.append(UInt8(ascii: ":"))
        key.append(contentsOf: op.utf8)
        key.append(UInt8(ascii: ":"))
        key.append(contentsOf: id.utf8)
        return String(decoding: key, as: UTF8.self)
    }

    /// Appends `value` in decimal, without building a `String`.
    static func appendDecimal(_ value: Int64, to out: inout some ByteSink) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // Up to 20 digits, written backwards on the stack and appended in one go.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var start = 20
            repeat {
                start -= 1
                buffer[start] = UInt8(truncatingIfNeeded: magnitude % 10) + 48
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start...]))
        }
    }
}
