import CertyoClient

/// What `certyo-cdc prove` concludes about one row.
public struct ProofVerdict: Sendable, Hashable, CustomStringConvertible {
    private enum Backing: String, Sendable, Hashable {
        case intact
        case tampered
        case notAnchoredYet = "not anchored yet"
        case unknownToCertyo = "unknown to Certyo"
        case deleted
        case proofRejected = "proof rejected"
    }

    private let backing: Backing
    private init(_ backing: Backing) { self.backing = backing }

    /// The row hashes to Certyo's latest version of it, and that version's Merkle proof recomputes to the anchored
    /// root.
    public static let intact = ProofVerdict(.intact)
    /// The row now in the table is not Certyo's latest version of it: its hash differs, or the row is gone although
    /// the latest version is not a deletion.
    public static let tampered = ProofVerdict(.tampered)
    /// The row matches Certyo's latest version, which is not anchored yet: prove again after the anchoring delay.
    public static let notAnchoredYet = ProofVerdict(.notAnchoredYet)
    /// Certyo holds no version of this record (never captured, or captured but not yet ingested).
    public static let unknownToCertyo = ProofVerdict(.unknownToCertyo)
    /// The row is gone and Certyo's latest anchored version is its deletion, with a valid proof.
    public static let deleted = ProofVerdict(.deleted)
    /// Certyo's answer about the matching version does not hold together (its Merkle proof does not lead to the
    /// anchored root): nothing is established, and the answer must not be trusted.
    public static let proofRejected = ProofVerdict(.proofRejected)

    public static let all: [ProofVerdict] = [
        .intact, .tampered, .notAnchoredYet, .unknownToCertyo, .deleted, .proofRejected,
    ]

    /// The verdict as printed, e.g. `not anchored yet`.
    public var description: String { backing.rawValue }

    /// A stable machine name for `--json`, e.g. `not_anchored_yet`.
    public var code: String {
        switch backing {
        case .intact: "intact"
        case .tampered: "tampered"
        case .notAnchoredYet: "not_anchored_yet"
        case .unknownToCertyo: "unknown_to_certyo"
        case .deleted: "deleted"
        case .proofRejected: "proof_rejected"
        }
    }
}

/// The outcome of proving one row: the verdict and the facts it rests on.
public struct RowProof: Sendable, Hashable {
    /// `schema.table`.
    public var collection: String
    /// The record id, as the pipeline sends it (`42`, `[1001,1]`).
    public var recordId: String
    public var verdict: ProofVerdict
    /// The hash computed here from the row now in the table (for a row that is gone: of its deletion's payload).
    public var computedHash: String
    /// Whether the row is in the table now.
    public var rowPresent: Bool
    /// Certyo's latest version of the record, when it has one.
    public var latestHash: String?
    /// The latest version's `operationType` (`insert`, `update`, `delete`, `upsert`).
    public var latestOperation: String?
    /// When Certyo accepted the latest version.
    public var latestAcceptedAt: String?
    /// The anchored Merkle root the proof was recomputed to (intact and deleted only).
    public var merkleRoot: String?
    /// The anchoring transaction (intact and deleted only).
    public var anchor: VerifyResponse.Anchor?
    /// One sentence: why this verdict.
    public var detail: String

    public init(
        collection: String, recordId: String, verdict: ProofVerdict, computedHash: String, rowPresent: Bool,
        latestHash: String? = nil, latestOperation: String? = nil, latestAcceptedAt: String? = nil,
        merkleRoot: String? = nil, anchor: VerifyResponse.Anchor? = nil, detail: String
    ) {
        self.collection = collection
        self.recordId = recordId
        self.verdict = verdict
        self.computedHash = computedHash
        self.rowPresent = rowPresent
        self.latestHash = latestHash
        self.latestOperation = latestOperation
        self.latestAcceptedAt = latestAcceptedAt
        self.merkleRoot = merkleRoot
        self.anchor = anchor
        self.detail = detail
    }
}
