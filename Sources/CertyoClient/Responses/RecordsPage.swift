/// One page of `GET /api/v1/records`: stored versions of one record, newest first.
public struct RecordsPage: Sendable, Hashable, Decodable {
    /// One stored version, with every field as ingested plus what Certyo added.
    public struct StoredRecord: Sendable, Hashable, Decodable {
        public var tenantId: String
        public var database: String
        public var collection: String
        public var recordId: String
        /// The row as Certyo stored it (parsed: key order and number spelling are not preserved).
        public var recordPayload: CertyoJSON
        public var operationType: String?
        public var sourceTimestamp: String?
        public var idempotencyKey: String?
        public var clientId: String?
        public var recordVersion: String?
        /// `sha256:` + hex of the canonical payload.
        public var recordHash: String
        /// When Certyo accepted this version (RFC 3339 UTC).
        public var acceptedAt: String
        public var anchoredOnChain: Bool
    }

    /// The versions on this page, newest first.
    public var records: [StoredRecord]
    /// Pass to the next call to read the next page; `nil` on the last page.
    public var nextCursor: String?

    private enum CodingKeys: String, CodingKey { case records, nextCursor }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.records = try container.decode([StoredRecord].self, forKey: .records)
        self.nextCursor = try container.decodeIfPresent(String.self, forKey: .nextCursor)
    }
}

/// A parsed JSON value, for the parts of a response that are arbitrary JSON (a stored `recordPayload`).
public enum CertyoJSON: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([CertyoJSON])
    case object([String: CertyoJSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([CertyoJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: CertyoJSON].self))
        }
    }

    /// The member `name` of an object; `nil` for anything else.
    public subscript(name: String) -> CertyoJSON? {
        if case .object(let members) = self { members[name] } else { nil }
    }
}
