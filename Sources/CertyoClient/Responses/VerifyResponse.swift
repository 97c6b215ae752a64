/// The `200 OK` answer to `POST /api/v1/verify/record`.
///
/// A record that is stored but not yet flushed has no root and an empty proof; one that is flushed but not yet
/// anchored has a root and a proof but no ``anchor``.
public struct VerifyResponse: Sendable, Hashable, Decodable {
    /// On which side of the running hash a proof step's sibling sits.
    public enum Position: String, Sendable, Hashable, Decodable {
        /// The next hash is SHA-256(sibling ‖ current).
        case left
        /// The next hash is SHA-256(current ‖ sibling).
        case right
    }

    /// One sibling on the path from the record's leaf to the Merkle root.
    public struct ProofStep: Sendable, Hashable, Decodable {
        public var position: Position
        /// `sha256:` + hex of the sibling node.
        public var hash: String

        public init(position: Position, hash: String) {
            self.position = position
            self.hash = hash
        }
    }

    /// The on-chain transaction that anchored the record's Merkle root.
    public struct Anchor: Sendable, Hashable, Decodable {
        /// E.g. `polygon`.
        public var chain: String
        /// The transaction hash, `0x...`.
        public var txHash: String
        public var blockNumber: Int64
        /// When the root was anchored (RFC 3339 UTC).
        public var anchoredAt: String

        public init(chain: String, txHash: String, blockNumber: Int64, anchoredAt: String) {
            self.chain = chain
            self.txHash = txHash
            self.blockNumber = blockNumber
            self.anchoredAt = anchoredAt
        }
    }

    /// `true` when Certyo holds the record (under the named hash, if one was named).
    public var verified: Bool
    /// `true` once the record's Merkle root is anchored on chain.
    public var anchoredOnChain: Bool
    /// The hash of the version that answered.
    public var recordHash: String
    /// The root of the record's Merkle batch, once the batch was flushed.
    public var merkleRoot: String?
    /// The siblings from the leaf upwards; empty before the flush and for a batch of one.
    public var merkleProof: [ProofStep]
    /// Present once anchored.
    public var anchor: Anchor?

    public init(
        verified: Bool,
        anchoredOnChain: Bool,
        recordHash: String,
        merkleRoot: String?,
        merkleProof: [ProofStep],
        anchor: Anchor?
    ) {
        self.verified = verified
        self.anchoredOnChain = anchoredOnChain
        self.recordHash = recordHash
        self.merkleRoot = merkleRoot
        self.merkleProof = merkleProof
        self.anchor = anchor
    }

    private enum CodingKeys: String, CodingKey {
        case verified, anchoredOnChain, recordHash, merkleRoot, merkleProof, anchor
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.verified = try container.decode(Bool.self, forKey: .verified)
        self.anchoredOnChain = try container.decode(Bool.self, forKey: .anchoredOnChain)
        self.recordHash = try container.decode(String.self, forKey: .recordHash)
        self.merkleRoot = try container.decodeIfPresent(String.self, forKey: .merkleRoot)
        self.merkleProof = try container.decodeIfPresent([ProofStep].self, forKey: .merkleProof) ?? []
        self.anchor = try container.decodeIfPresent(Anchor.self, forKey: .anchor)
    }
}
