import Hummingbird

/// `POST /api/v1/verify/record`.
struct VerifyHandler {
    let store: EmulatorStore

    /// Answers whether a record is known, flushed into a Merkle tree, and anchored.
    /// - Parameter forgeProof: The forged-proof fault drawn for this request.
    /// - Throws: An ``APIError``: `413`, `400 invalid_request`, `403`, or `404 not_found`.
    func verify(
        _ request: Request,
        keyTenant: String,
        forgeProof: Bool,
        outcome: inout RequestOutcome
    ) async throws(APIError) -> Response {
        let body = try await RequestReading.body(request, limit: store.configuration.maxBodyBytes)
        let object = try RequestReading.object(body)
        let tenant = try Self.requiredString(object, "tenantId")
        guard tenant.isExactly(keyTenant) else {
            throw APIError(
                status: 403,
                code: .forbidden,
                message: "the API key is not valid for tenant \"\(tenant.prefix(100))\"; use that tenant's key"
            )
        }
        let database = try Self.requiredString(object, "database")
        let collection = try Self.requiredString(object, "collection")
        let recordId = try Self.requiredString(object, "recordId")
        var recordHash: String?
        switch object[member: "recordHash"] {
        case nil, .null?:
            break
        case .string(let hash)? where Self.isHashText(hash):
            recordHash = hash
        default:
            throw APIError.invalidRequest("recordHash must be \"sha256:\" followed by 64 lower-case hex digits")
        }

        let key = RecordKey(ExactString(database), ExactString(collection), ExactString(recordId))
        guard let result = store.verify(tenant: tenant, key: key, recordHash: recordHash) else {
            if recordHash != nil {
                throw APIError.notFound("no version of this record has that recordHash")
            }
            throw APIError.notFound("no record \(collection.prefix(100))/\(recordId.prefix(100)) in \(database.prefix(100))")
        }

        var root = result.merkleRoot
        var proof = result.proof
        if forgeProof, let realRoot = root, let realProof = proof {
            // Flip one bit of the first sibling, or of the root when the proof is empty.
            if realProof.isEmpty {
                var forged = realRoot
                forged[forged.count - 1] ^= 0x01
                root = forged
            } else {
                var forged = realProof
                forged[0].hash[forged[0].hash.count - 1] ^= 0x01
                proof = forged
            }
            outcome.faults.append(.forgedProof)
        }

        var writer = JSONWriter()
        writer.beginObject()
        writer.field("verified", true)
        writer.field("anchoredOnChain", result.anchor != nil)
        writer.field("recordHash", result.recordHash)
        if let root, let proof {
            writer.field("merkleRoot", CertyoContract.hashPrefix + Hex.encode(root))
            writer.key("merkleProof")
            writer.beginArray()
            for step in proof {
                writer.beginObject()
                writer.field("position", step.position.rawValue)
                writer.field("hash", CertyoContract.hashPrefix + Hex.encode(step.hash))
                writer.endObject()
            }
            writer.endArray()
        }
        if let anchor = result.anchor {
            writer.key("anchor")
            writer.beginObject()
            writer.field("chain", CertyoContract.anchorChain)
            writer.field("txHash", anchor.txHash)
            writer.field("blockNumber", anchor.blockNumber)
            writer.field("anchoredAt", anchor.anchoredAt)
            writer.endObject()
        }
        writer.endObject()
        return Response.json(status: 200, writer.bytes)
    }

    static func requiredString(_ object: JSONValue, _ field: String) throws(APIError) -> String {
        switch object[member: field] {
        case .string(let value)?:
            if value.isEmpty { throw APIError.invalidRequest("\(field) is empty; send a non-empty string") }
            return value
        case nil, .null?:
            throw APIError.invalidRequest("\(field) is missing; it is required")
        default:
            throw APIError.invalidRequest("\(field) must be a string")
        }
    }

    /// `sha256:` and 64 lower-case hex digits.
    static func isHashText(_ text: String) -> Bool {
        guard text.hasPrefix(CertyoContract.hashPrefix) else { return false }
        let hex = text.utf8.dropFirst(CertyoContract.hashPrefix.utf8.count)
        return hex.count == 64 && hex.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
