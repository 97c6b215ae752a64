import CDCCore

// TODO(lead): switch to CertyoRecord.appendJSON when the decoder lands
/// The ingest request bodies, written straight into bytes.
///
/// `recordPayload` is spliced in raw: it already is RFC 8785 canonical JSON, and its bytes are what Certyo hashes.
enum BulkBody {
    /// `{"tenantId":"...","records":[{...},...]}` for `POST /api/v1/records/bulk`.
    static func bulk(tenantId: String, records: some Collection<CertyoRecord>) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(records.reduce(64) { $0 + $1.recordPayload.count + 256 })
        buffer.append(UInt8(ascii: "{"))
        JSONBytes.appendMember("tenantId", string: tenantId, to: &buffer)
        buffer.append(contentsOf: Array(#","records":["#.utf8))
        var first = true
        for record in records {
            if !first { buffer.append(UInt8(ascii: ",")) }
            first = false
            appendRecord(record, tenantId: tenantId, to: &buffer)
        }
        buffer.append(contentsOf: [UInt8(ascii: "]"), UInt8(ascii: "}")])
        return buffer
    }

    /// One record object for `POST /api/v1/records`.
    static func single(tenantId: String, record: CertyoRecord) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(record.recordPayload.count + 256)
        appendRecord(record, tenantId: tenantId, to: &buffer)
        return buffer
    }

    /// Appends every field of `record` as one JSON object; each record carries the call's `tenantId`.
    static func appendRecord(_ record: CertyoRecord, tenantId: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "{"))
        JSONBytes.appendMember("tenantId", string: tenantId, to: &buffer)
        buffer.append(UInt8(ascii: ","))
        JSONBytes.appendMember("database", string: record.database, to: &buffer)
        buffer.append(UInt8(ascii: ","))
        JSONBytes.appendMember("collection", string: record.collection, to: &buffer)
        buffer.append(UInt8(ascii: ","))
        JSONBytes.appendMember("recordId", string: record.recordId, to: &buffer)
        buffer.append(contentsOf: Array(#","recordPayload":"#.utf8))
        buffer.append(contentsOf: record.recordPayload)
        buffer.append(UInt8(ascii: ","))
        JSONBytes.appendMember("operationType", string: record.operationType.rawValue, to: &buffer)
        if let sourceTimestamp = record.sourceTimestamp {
            buffer.append(UInt8(ascii: ","))
            JSONBytes.appendMember("sourceTimestamp", string: sourceTimestamp, to: &buffer)
        }
        buffer.append(UInt8(ascii: ","))
        JSONBytes.appendMember("idempotencyKey", string: record.idempotencyKey, to: &buffer)
        buffer.append(UInt8(ascii: "}"))
    }
}
