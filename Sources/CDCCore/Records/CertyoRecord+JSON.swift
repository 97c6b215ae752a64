// MARK: - CertyoRecord + JSON

extension CertyoRecord {
    /// Appends this record as one JSON object of a bulk ingest body: `tenantId`, `database`, `collection`,
    /// `recordId`, `recordPayload` (the canonical bytes, spliced in as they are), `operationType`,
    /// `sourceTimestamp` (when known) and `idempotencyKey`.
    public func appendJSON(to buffer: inout [UInt8], tenantId: String) {
        buffer.reserveCapacity(buffer.count + recordPayload.count + 256)
        buffer.append(contentsOf: #"{"tenantId":"#.utf8)
        JCS.appendString(tenantId, to: &buffer)
        buffer.append(contentsOf: #","database":"#.utf8)
        JCS.appendString(database, to: &buffer)
        buffer.append(contentsOf: #","collection":"#.utf8)
        JCS.appendString(collection, to: &buffer)
        buffer.append(contentsOf: #","recordId":"#.utf8)
        JCS.appendString(recordId, to: &buffer)
        buffer.append(contentsOf: #","recordPayload":"#.utf8)
        buffer.append(contentsOf: recordPayload)
        buffer.append(contentsOf: #","operationType":"#.utf8)
        JCS.appendString(operationType.rawValue, to: &buffer)
        if let sourceTimestamp {
            buffer.append(contentsOf: #","sourceTimestamp":"#.utf8)
            JCS.appendString(sourceTimestamp, to: &buffer)
        }
        buffer.append(contentsOf: #","idempotencyKey":"#.utf8)
        JCS.appendString(idempotencyKey, to: &buffer)
        buffer.append(UInt8(ascii: "}"))
    }
}
