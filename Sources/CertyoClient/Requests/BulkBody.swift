import CDCCore

/// The ingest request bodies, written straight into bytes.
///
/// `recordPayload` is spliced in raw by ``CertyoRecord/appendJSON(to:tenantId:)``: it already is RFC 8785 canonical
/// JSON, and its bytes are what Certyo hashes.
enum BulkBody {
    /// `{"tenantId":"...","records":[{...},...]}` for `POST /api/v1/records/bulk`.
    static func bulk(tenantId: String, records: some Collection<CertyoRecord>) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(records.reduce(64) { $0 + $1.recordPayload.count + 256 })
        buffer.append(UInt8(ascii: "{"))
        JSONText.appendMember("tenantId", string: tenantId, to: &buffer)
        buffer.append(contentsOf: Array(#","records":["#.utf8))
        var first = true
        for record in records {
            if !first { buffer.append(UInt8(ascii: ",")) }
            first = false
            record.appendJSON(to: &buffer, tenantId: tenantId)
        }
        buffer.append(contentsOf: [UInt8(ascii: "]"), UInt8(ascii: "}")])
        return buffer
    }

    /// One record object for `POST /api/v1/records`.
    static func single(tenantId: String, record: CertyoRecord) -> [UInt8] {
        var buffer: [UInt8] = []
        record.appendJSON(to: &buffer, tenantId: tenantId)
        return buffer
    }
}
