import CDCCore
import Crypto
import Testing

@Suite struct MerkleProofTests {
    func sha(_ parts: [UInt8]...) -> [UInt8] {
        var hasher = SHA256()
        for part in parts { hasher.update(data: part) }
        return Array(hasher.finalize())
    }

    @Test func verifiesEachLeafOfAThreeLeafTreeAndRejectsATamperedOne() {
        let leaves = (0..<3).map { sha(Array("record \($0)".utf8)) }
        // An odd level pairs its last node with itself.
        let left = sha(leaves[0], leaves[1])
        let right = sha(leaves[2], leaves[2])
        let root = sha(left, right)

        let proofs: [MerkleProof] = [
            MerkleProof(steps: [.init(position: .right, hash: leaves[1]), .init(position: .right, hash: right)]),
            MerkleProof(steps: [.init(position: .left, hash: leaves[0]), .init(position: .right, hash: right)]),
            MerkleProof(steps: [.init(position: .right, hash: leaves[2]), .init(position: .left, hash: left)]),
        ]
        for (leaf, proof) in zip(leaves, proofs) {
            #expect(proof.verifies(leaf: leaf, root: root))
        }
        #expect(!proofs[0].verifies(leaf: sha(Array("tampered".utf8)), root: root))
        #expect(!proofs[0].verifies(leaf: leaves[1], root: root))
        #expect(MerkleProof(steps: []).verifies(leaf: leaves[0], root: leaves[0]))
    }

    @Test func parsesPrefixedHashes() {
        let hex = String(repeating: "0f", count: 32)
        #expect(PrefixedSHA256.bytes("sha256:" + hex) == [UInt8](repeating: 0x0f, count: 32))
        #expect(PrefixedSHA256.bytes(hex) == nil)
        #expect(PrefixedSHA256.bytes("sha256:" + hex.uppercased()) == nil)
        #expect(PrefixedSHA256.bytes("sha256:abc") == nil)
    }
}
