import Hummingbird

/// `GET /api/v1/records?tenantId=&database=&collection=&recordId=&limit=&cursor=`; the narrowing rules are in
/// ``CertyoContract/queryScope(database:collection:recordId:)``.
struct QueryHandler {
    let store: EmulatorStore

    /// One page of stored versions, newest first.
    /// - Throws: An ``APIError``: `400 invalid_request` or `403`.
    func query(_ request: Request, keyTenant: String) throws(APIError) -> Response {
        let parameters = request.uri.queryParameters
        func parameter(_ name: String) throws(APIError) -> String? {
            guard let value = parameters[Substring(name)] else { return nil }
            if value.isEmpty { throw APIError.invalidRequest("the query parameter \(name) is empty") }
            return String(value)
        }
        guard let tenant = try parameter("tenantId") else {
            throw APIError.invalidRequest("the query parameter tenantId is missing; it is required")
        }
        guard tenant.isExactly(keyTenant) else {
            throw APIError(
                status: 403,
                code: .forbidden,
                message: "the API key is not valid for tenant \"\(tenant.prefix(100))\"; use that tenant's key"
            )
        }
        let database = try parameter("database")
        let collection = try parameter("collection")
        let recordId = try parameter("recordId")
        guard let scope = CertyoContract.queryScope(database: database, collection: collection, recordId: recordId)
        else {
            throw APIError.invalidRequest(
                "recordId needs collection and database, and collection needs database; send the ones before it"
            )
        }
        var limit = CertyoContract.defaultQueryLimit
        if let text = try parameter("limit") {
            guard let value = Int(text), (1...CertyoContract.maximumQueryLimit).contains(value) else {
                throw APIError.invalidRequest(
                    "limit must be a whole number from 1 to \(CertyoContract.maximumQueryLimit)"
                )
            }
            limit = value
        }
        var cursor: Int?
        if let text = try parameter("cursor") {
            guard let value = CertyoContract.decodeCursor(Substring(text)) else {
                throw APIError.invalidRequest("cursor is not one this service returned; send nextCursor unchanged")
            }
            cursor = value
        }

        let page = store.query(tenant: tenant, scope: scope, limit: limit, before: cursor)
        var writer = JSONWriter(capacity: 64 + page.records.reduce(0) { $0 + $1.ingested.count + 160 })
        writer.beginObject()
        writer.key("records")
        writer.beginArray()
        for record in page.records {
            writer.extendingObject(record.ingested) { writer in
                writer.field("recordHash", record.recordHash)
                writer.field("acceptedAt", record.acceptedAt)
                writer.field("anchoredOnChain", record.anchoredOnChain)
            }
        }
        writer.endArray()
        writer.field("nextCursor", page.nextCursor.map(CertyoContract.encodeCursor))
        writer.endObject()
        return Response.json(status: 200, writer.bytes)
    }
}
