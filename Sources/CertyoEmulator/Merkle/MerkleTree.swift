import Crypto

/// A binary SHA-256 Merkle tree over one accumulator batch, built by the rules in ``CertyoContract/Merkle``.
///
/// Every level is kept, so a proof is read off in O(log n) without rebuilding the tree.
struct MerkleTree: Sendable {
    /// `levels[0]` are the leaves (the raw 32-byte record hashes, in acceptance order); the last level is the root.
    let levels: [[[UInt8]]]

    /// Builds the tree.
    /// - Parameter leaves: The raw 32-byte record hashes in acceptance order; at least one.
    init(leaves: [[UInt8]]) {
        precondition(!leaves.isEmpty, "a batch holds at least one record")
        var levels = [leaves]
        while let level = levels.last, level.count > 1 {
            var next: [[UInt8]] = []
            next.reserveCapacity((level.count + 1) / 2)
            var position = 0
            while position < level.count {
                let left = level[position]
                // A level with an odd count pairs its last node with itself.
                let right = position + 1 < level.count ? level[position + 1] : left
                next.append(CertyoContract.Merkle.parent(left, right))
                position += 2
            }
            levels.append(next)
        }
        self.levels = levels
    }

    /// The root: the single node of the last level (for one leaf, the leaf itself).
    var root: [UInt8] { levels[levels.count - 1][0] }

    var leafCount: Int { levels[0].count }

    /// The siblings from the leaf upwards, each with the side it sits on.
    func proof(forLeaf leafIndex: Int) -> [MerkleProofStep] {
        var steps: [MerkleProofStep] = []
        var position = leafIndex
        for level in levels.dropLast() {
            if position % 2 == 0 {
                let sibling = position + 1 < level.count ? level[position + 1] : level[position]
                steps.append(MerkleProofStep(position: .right, hash: sibling))
            } else {
                steps.append(MerkleProofStep(position: .left, hash: level[position - 1]))
            }
            position /= 2
        }
        return steps
    }
}

/// One step of a Merkle proof.
struct MerkleProofStep: Sendable, Equatable {
    enum Side: String, Sendable {
        /// The sibling is the left input: `SHA-256(sibling ‖ h)`.
        case left
        /// The sibling is the right input: `SHA-256(h ‖ sibling)`.
        case right
    }

    var position: Side
    var hash: [UInt8]
}
