import Hummingbird

/// `POST /api/v1/records` and `POST /api/v1/records/bulk`.
struct IngestHandler {
    let store: EmulatorStore

    /// Validates, hashes and stores one record or one bulk call (all or nothing).
    /// - Throws: An ``APIError`` in the order ``CertyoContract`` documents (steps 4–10).
    func ingest(
        _ request: Request,
        keyTenant: String,
        bulk: Bool,
        outcome: inout RequestOutcome
    ) async throws(APIError) -> Response {
        let settings = store.configuration
        let body = try await RequestReading.body(request, limit: settings.maxBodyBytes)
        let object = try RequestReading.object(body)

        // tenantId: present and a string (400), then the key's tenant (403).
        let callTenant: String
        switch object[member: "tenantId"] {
        case .string(let tenant)?:
            callTenant = tenant
        case nil, .null?:
            throw APIError.invalidRecord([ValidationDetail(index: nil, field: "tenantId", reason: .missing)])
        case .invalid?:
            throw APIError.invalidRecord([ValidationDetail(index: nil, field: "tenantId", reason: .notCanonicalizable)])
        default:
            throw APIError.invalidRecord([ValidationDetail(index: nil, field: "tenantId", reason: .wrongType)])
        }
        guard callTenant.isExactly(keyTenant) else {
            throw APIError(
                status: 403,
                code: .forbidden,
                message: "the API key is not valid for tenant \"\(callTenant.prefix(100))\"; "
                    + "use that tenant's key or its tenantId"
            )
        }

        // The records: the body itself, or the bulk call's array.
        var elements: [JSONValue]
        if bulk {
            switch object[member: "records"] {
            case .array(let array)?:
                if array.count > settings.maxBatch {
                    throw APIError(
                        status: 413,
                        code: .batchTooLarge,
                        message: "the call carries \(array.count) records, more than the limit of \(settings.maxBatch)"
                            + "; split it into calls of at most \(settings.maxBatch)"
                    )
                }
                if array.isEmpty {
                    throw APIError.invalidRecord([ValidationDetail(index: nil, field: "records", reason: .empty)])
                }
                elements = array
            case nil, .null?:
                throw APIError.invalidRecord([ValidationDetail(index: nil, field: "records", reason: .missing)])
            case .invalid?:
                throw APIError.invalidRecord([
                    ValidationDetail(index: nil, field: "records", reason: .notCanonicalizable)
                ])
            default:
                throw APIError.invalidRecord([ValidationDetail(index: nil, field: "records", reason: .wrongType)])
            }
        } else {
            elements = [object]
        }
        outcome.idempotencyKeys = elements.compactMap {
            if case .string(let key)? = $0[member: "idempotencyKey"] { return key }
            return nil
        }

        // Every record valid, or nothing is stored.
        var details: [ValidationDetail] = []
        for (position, element) in elements.enumerated() {
            details += CertyoContract.validate(
                record: element,
                index: bulk ? position : nil,
                callTenant: bulk ? callTenant : nil
            )
        }
        if !details.isEmpty { throw APIError.invalidRecord(details) }

        var prepared: [PreparedRecord] = []
        prepared.reserveCapacity(elements.count)
        for (position, element) in elements.enumerated() {
            prepared.append(try Self.prepare(element, index: bulk ? position : nil))
        }
        elements = []

        switch store.commit(tenant: callTenant, records: prepared) {
        case .conflict(let conflicts):
            throw APIError(
                status: 409,
                code: .idempotencyConflict,
                message: APIError.describe(conflicts) + "; nothing in this call was stored",
                details: conflicts
            )
        case .accepted(let results):
            var writer = JSONWriter(capacity: bulk ? 120 * results.count + 64 : 256)
            writer.beginObject()
            if bulk {
                writer.field("tenantId", callTenant)
                writer.field("accepted", results.count)
                writer.key("results")
                writer.beginArray()
                for result in results {
                    writer.beginObject()
                    writer.field("recordId", result.recordId)
                    writer.field("recordHash", result.recordHash)
                    writer.field("idempotencyReplayed", result.replayed)
                    writer.endObject()
                }
                writer.endArray()
            } else {
                let result = results[0]
                writer.field("recordId", result.recordId)
                writer.field("recordHash", result.recordHash)
                writer.field("tenantId", callTenant)
                writer.field("acceptedAt", result.acceptedAt)
                writer.field("idempotencyReplayed", result.replayed)
            }
            writer.endObject()
            return Response.json(status: 202, writer.bytes)
        }
    }

    /// Hashes a validated record and keeps what a query must give back.
    static func prepare(_ record: JSONValue, index: Int?) throws(APIError) -> PreparedRecord {
        guard case .object(let members) = record, let payload = record[member: "recordPayload"],
            case .string(let database)? = record[member: "database"],
            case .string(let collection)? = record[member: "collection"],
            case .string(let recordId)? = record[member: "recordId"]
        else {
            throw APIError.invalidRecord([ValidationDetail(index: index, field: nil, reason: .notObject)])
        }
        let canonical: [UInt8]
        do {
            canonical = try JCS.canonicalBytes(payload)
        } catch {
            throw APIError.invalidRecord([
                ValidationDetail(index: index, field: "recordPayload", reason: .notCanonicalizable)
            ])
        }
        let hash = CertyoContract.recordHash(canonicalPayload: canonical)
        var writer = JSONWriter(capacity: canonical.count + 160)
        writer.beginObject()
        for member in members where !CertyoContract.serverFields.contains(member.name) {
            writer.key(member.name)
            writer.value(member.value)
        }
        writer.endObject()
        var key: ExactString?
        if case .string(let text)? = record[member: "idempotencyKey"] { key = ExactString(text) }
        return PreparedRecord(
            index: index,
            identity: RecordIdentity(
                recordHash: hash.text,
                database: ExactString(database),
                collection: ExactString(collection),
                recordId: ExactString(recordId)
            ),
            hashRaw: hash.raw,
            ingested: writer.bytes,
            idempotencyKey: key
        )
    }
}
