import CDCCore
import CertyoClient

/// What a verify answer proves about one record hash, checked here rather than taken on Certyo's word.
///
/// `verified: true` alone proves nothing: the answer is only trusted when its Merkle proof, recomputed step by step
/// from the record's own hash, arrives at the Merkle root that Certyo says it anchored.
public enum AnchorCheck: Sendable, Hashable {
    /// The proof leads from the hash to `merkleRoot`, and Certyo reports that root anchored by `anchor`.
    case anchored(merkleRoot: String, anchor: VerifyResponse.Anchor)
    /// Certyo holds the hash but has not anchored its batch yet (no root, or no anchor).
    case notAnchored
    /// The answer does not hold together: the reason names what failed. Nothing it claims is trusted.
    case rejected(reason: String)

    /// Checks `response` as the answer about `recordHash`.
    ///
    /// - Parameters:
    ///   - response: Certyo's answer to `POST /api/v1/verify/record` naming `recordHash`.
    ///   - recordHash: The hash the caller computed itself from the row (`sha256:<hex>`).
    /// - Returns: ``anchored(merkleRoot:anchor:)`` only when the proof recomputes to the anchored root.
    public static func check(_ response: VerifyResponse, recordHash: String) -> AnchorCheck {
        guard let leaf = PrefixedSHA256.bytes(recordHash) else {
            return .rejected(reason: "\(recordHash) is not a sha256:<64 hex> hash")
        }
        guard response.recordHash == recordHash else {
            return .rejected(reason: "Certyo answered about \(response.recordHash), not about \(recordHash)")
        }
        guard response.verified else {
            return .rejected(reason: "Certyo answered verified: false for a hash it returned")
        }
        guard response.anchoredOnChain, let anchor = response.anchor, let rootText = response.merkleRoot else {
            return .notAnchored
        }
        guard let root = PrefixedSHA256.bytes(rootText) else {
            return .rejected(reason: "the Merkle root \(rootText) is not a sha256:<64 hex> hash")
        }
        var steps: [MerkleProof.Step] = []
        steps.reserveCapacity(response.merkleProof.count)
        for (index, step) in response.merkleProof.enumerated() {
            guard let sibling = PrefixedSHA256.bytes(step.hash) else {
                return .rejected(reason: "proof step \(index) is not a sha256:<64 hex> hash")
            }
            steps.append(MerkleProof.Step(position: step.position == .left ? .left : .right, hash: sibling))
        }
        guard MerkleProof(steps: steps).verifies(leaf: leaf, root: root) else {
            return .rejected(
                reason: "the Merkle proof (\(steps.count) steps) does not lead from \(recordHash) to the anchored "
                    + "root \(rootText)"
            )
        }
        return .anchored(merkleRoot: rootText, anchor: anchor)
    }
}
