import PostgresBridge

/// The anchoring status of one record, as the verification worker writes it to `certyo.record_status`.
public struct RecordStatus: Sendable, Hashable {
    /// `pending`, `anchored` or `failed`.
    public struct Status: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Certyo has not anchored this hash yet (not flushed, not anchored, or not ingested yet).
        public static let pending = Status("pending")
        /// Certyo anchored this hash, and its Merkle proof recomputes to the anchored root.
        public static let anchored = Status("anchored")
        /// Certyo still does not know this hash after the grace period, or its proof was rejected.
        public static let failed = Status("failed")

        public init?(rawValue: String) {
            switch rawValue {
            case "pending": self = .pending
            case "anchored": self = .anchored
            case "failed": self = .failed
            default: return nil
            }
        }

        public var description: String { rawValue }
    }

    public var recordId: String
    /// `sha256:<hex>` of the row's current canonical payload.
    public var recordHash: String
    public var status: Status
    public var merkleRoot: String?
    public var anchorTransaction: String?
    public var anchorBlock: Int64?
    /// Why the status is what it is (one sentence).
    public var detail: String?

    public init(recordId: String, recordHash: String, status: Status, merkleRoot: String? = nil,
                anchorTransaction: String? = nil, anchorBlock: Int64? = nil, detail: String? = nil) {
        self.recordId = recordId
        self.recordHash = recordHash
        self.status = status
        self.merkleRoot = merkleRoot
        self.anchorTransaction = anchorTransaction
        self.anchorBlock = anchorBlock
        self.detail = detail
    }
}

/// The status table, `certyo.record_status`: one row per (collection, record id), in the captured database but
/// outside the publication, so writing it never produces a change event.
///
/// ```sql
/// certyo.record_status (collection text, record_id text,          -- primary key
///                       certyo_record_hash text, certyo_anchor_status text, certyo_verified_at timestamptz,
///                       certyo_merkle_root text, certyo_anchor_tx text, certyo_anchor_block bigint,
///                       certyo_detail text, first_seen_at timestamptz, updated_at timestamptz)
/// ```
public struct RecordStatusStore: Sendable {
    /// What the store holds for a record: its hash, status, and how long ago that hash was first seen.
    public struct Stored: Sendable, Hashable {
        public var recordHash: String
        public var status: RecordStatus.Status
        /// Seconds since the worker first saw this hash for this record.
        public var ageSeconds: Double
    }

    /// `certyo.record_status`.
    public static let qualifiedName = "certyo.record_status"

    static let createSQL = """
        CREATE TABLE IF NOT EXISTS certyo.record_status (
            collection text NOT NULL,
            record_id text NOT NULL,
            certyo_record_hash text NOT NULL,
            certyo_anchor_status text NOT NULL
                CHECK (certyo_anchor_status IN ('pending', 'anchored', 'failed')),
            certyo_verified_at timestamptz,
            certyo_merkle_root text,
            certyo_anchor_tx text,
            certyo_anchor_block bigint,
            certyo_detail text,
            first_seen_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (collection, record_id)
        )
        """

    static let readSQL = """
        SELECT record_id, certyo_record_hash, certyo_anchor_status,
               extract(epoch FROM now() - first_seen_at)::float8 AS age
        FROM certyo.record_status WHERE collection = $1 AND record_id = ANY($2::text[])
        """

    /// Inserts or changes statuses, but only rows whose hash or status differ: running it twice writes nothing the
    /// second time. A new hash restarts `first_seen_at`; `certyo_verified_at` is when the anchor was last confirmed.
    static let writeSQL = """
        INSERT INTO certyo.record_status AS s
            (collection, record_id, certyo_record_hash, certyo_anchor_status, certyo_verified_at,
             certyo_merkle_root, certyo_anchor_tx, certyo_anchor_block, certyo_detail)
        SELECT $1, u.record_id, u.record_hash, u.status, CASE WHEN u.status = 'anchored' THEN now() END,
               u.root, u.tx, u.block::bigint, u.detail
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
             AS u(record_id, record_hash, status, root, tx, block, detail)
        ON CONFLICT (collection, record_id) DO UPDATE SET
            certyo_record_hash = EXCLUDED.certyo_record_hash,
            certyo_anchor_status = EXCLUDED.certyo_anchor_status,
            certyo_verified_at = EXCLUDED.certyo_verified_at,
            certyo_merkle_root = EXCLUDED.certyo_merkle_root,
            certyo_anchor_tx = EXCLUDED.certyo_anchor_tx,
            certyo_anchor_block = EXCLUDED.certyo_anchor_block,
            certyo_detail = EXCLUDED.certyo_detail,
            first_seen_at = CASE WHEN s.certyo_record_hash = EXCLUDED.certyo_record_hash
                                 THEN s.first_seen_at ELSE now() END,
            updated_at = now()
        WHERE (s.certyo_record_hash, s.certyo_anchor_status)
              IS DISTINCT FROM (EXCLUDED.certyo_record_hash, EXCLUDED.certyo_anchor_status)
        """

    public init() {}

    /// Creates the schema and table when they are missing.
    ///
    /// - Throws: A `PostgresError` (e.g. `42501` when the role may not create the schema: create it once as an
    ///   owner, or grant `CREATE` on the database).
    public func prepare(on connection: PostgresConnection) async throws {
        // `CREATE SCHEMA IF NOT EXISTS` needs CREATE on the database even when the schema exists: ask first.
        let schemaExists = try await connection.query("SELECT 1 FROM pg_namespace WHERE nspname = 'certyo'").count > 0
        if !schemaExists { try await connection.execute("CREATE SCHEMA IF NOT EXISTS certyo") }
        try await connection.execute(Self.createSQL)
    }

    /// Whether a publication lists the status table (then its writes would be captured: take it out).
    public func isPublished(on connection: PostgresConnection) async throws -> [String] {
        try await connection.query(
            "SELECT pubname::text FROM pg_publication_tables WHERE schemaname = 'certyo' AND tablename = 'record_status'"
        ).compactMap { $0[0] }
    }

    /// The stored statuses of `recordIds` in `collection`, by record id.
    public func read(collection: String, recordIds: [String], on connection: PostgresConnection) async throws
        -> [String: Stored]
    {
        guard !recordIds.isEmpty else { return [:] }
        var stored: [String: Stored] = [:]
        for row in try await connection.query(Self.readSQL, [collection, Self.arrayLiteral(recordIds)]) {
            guard let id = row[0], let hash = row[1], let status = row[2].flatMap(RecordStatus.Status.init(rawValue:))
            else { continue }
            stored[id] = Stored(recordHash: hash, status: status, ageSeconds: row[3].flatMap { Double($0) } ?? 0)
        }
        return stored
    }

    /// Writes `statuses` for `collection` in one statement; unchanged rows are not touched.
    ///
    /// - Returns: How many rows were inserted or changed.
    @discardableResult
    public func write(collection: String, _ statuses: [RecordStatus], on connection: PostgresConnection) async throws
        -> Int
    {
        guard !statuses.isEmpty else { return 0 }
        let parameters: [String?] = [
            collection,
            Self.arrayLiteral(statuses.map(\.recordId)),
            Self.arrayLiteral(statuses.map(\.recordHash)),
            Self.arrayLiteral(statuses.map(\.status.rawValue)),
            Self.arrayLiteral(statuses.map(\.merkleRoot)),
            Self.arrayLiteral(statuses.map(\.anchorTransaction)),
            Self.arrayLiteral(statuses.map { $0.anchorBlock.map(String.init) }),
            Self.arrayLiteral(statuses.map(\.detail)),
        ]
        return try await connection.execute(Self.writeSQL, parameters) ?? 0
    }

    /// A one-dimensional `text[]` literal: every element double-quoted with `\` and `"` escaped; `nil` is `NULL`.
    static func arrayLiteral(_ elements: [String?]) -> String {
        var text = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { text += "," }
            guard let element else {
                text += "NULL"
                continue
            }
            text += "\""
            for character in element {
                if character == "\\" || character == "\"" { text += "\\" }
                text.append(character)
            }
            text += "\""
        }
        return text + "}"
    }
}
