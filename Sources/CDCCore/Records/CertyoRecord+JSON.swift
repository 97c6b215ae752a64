// MARK: - CertyoRecord + JSON

extension CertyoRecord {
    /// Appends this record as one JSON object of a bulk ingest body: `tenantId`, `database`, `collection`,
    /// `recordId`, `recordPayload` (the canonical bytes, spliced in as they are), `operationType`,
    /// `sourceTimestamp` (when known) and `idempotencyKey`.
    public func appendJSON(to buffer: inout [UInt8], tenantId: String) {
        buffer.reserveCapacity(buffer.count + recordPayload.count + 256)
        buffer.append(contentsOf: JSONNames.tenantId)
        JCS.appendString(tenantId, to: &buffer)
        buffer.append(contentsOf: JSONNames.database)
        JCS.appendString(database, to: &buffer)
        buffer.append(contentsOf: JSONNames.collection)
        JCS.appendString(collection, to: &buffer)
        buffer.append(contentsOf: JSONNames.recordId)
        JCS.appendString(recordId, to: &buffer)
        buffer.append(contentsOf: JSONNames.recordPayload)
        buffer.append(contentsOf: recordPayload)
        buffer.append(contentsOf: JSONNames.operationType)
        JCS.appendString(operationType.rawValue, to: &buffer)
        if let sourceTimestamp {
            buffer.append(contentsOf: JSONNames.sourceTimestamp)
            JCS.appendString(sourceTimestamp, to: &buffer)
        }
        buffer.append(contentsOf: JSONNames.idempotencyKey)
        JCS.appendString(idempotencyKey, to: &buffer)
        buffer.append(UInt8(ascii: "}"))
    }
}

/// The member names of a bulk record as bytes, built once (appending a `String`'s UTF-8 view goes through a
/// slower generic copy than appending an array).
private enum JSONNames {
    static let tenantId = Array(#"{"tenantId":"#.utf8)
    static let database = Array(#","database":"#.utf8)
    static let collection = Array(#","collection":"#.utf8)
    static let recordId = Array(#","recordId":"#.utf8)
    static let recordPayload = Array(#","recordPayload":"#.utf8)
    static let operationType = Array(#","operationType":"#.utf8)
    static let sourceTimestamp = Array(#","sourceTimestamp":"#.utf8)
    static let idempotencyKey = Array(#","idempotencyKey":"#.utf8)
}
