extension CertyoRecord {
    /// An upper estimate of the bytes ``appendJSON(to:tenantId:)`` writes for this record (the fixed member names,
    /// the tenant, database, collection and timestamp are within the 200-byte allowance for ordinary names): what
    /// every capture path counts against ``BatchingConfiguration/maxBytes`` without encoding the record twice.
    public var estimatedJSONBytes: Int {
        recordPayload.count + recordId.utf8.count + idempotencyKey.utf8.count + 200
    }
}
