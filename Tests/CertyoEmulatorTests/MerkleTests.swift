import Foundation
import NIOHTTP1
import Testing

@testable import CertyoEmulator

/// Merkle trees and proofs: every proof answered by verify is checked here by recomputing the root with the test's
/// own SHA-256 code, and the root is compared with a tree built independently from all the batch's hashes.
@Suite("Merkle proofs", .timeLimit(.minutes(3)))
struct MerkleTests {
    @Test("batches of 1, 2, 3, 1000 and 1001 records", arguments: [1, 2, 3, 1000, 1001])
    func proofs(count: Int) async throws {
        // Flush by size at 1000 (so 1001 gives a batch of 1000 and one of 1), or 200 ms after the first record.
        let configuration = EmulatorConfiguration.forTests(
            accumulateInterval: .milliseconds(200),
            accumulateSize: 1000,
            anchorDelay: .milliseconds(300)
        )
        try await withCertyoEmulator(configuration: configuration, logger: testLogger) { emulator in
            var hashes: [String] = []
            var start = 0
            while start < count {
                let end = min(count, start + 1000)
                let records = (start..<end).map { recordJSON(id: "m\($0)", payload: #"{"id":\#($0),"name":"row \#($0)"}"#) }
                let response = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: records))
                #expect(response.status == 202)
                let results = response.json["results"] as? [[String: Any]] ?? []
                hashes += results.compactMap { $0["recordHash"] as? String }
                start = end
            }
            try #require(hashes.count == count)
            #expect(hashes[0] == expectedHash(ofCanonical: #"{"id":0,"name":"row 0"}"#))

            // Batches as the contract defines them: chunks of 1000 in acceptance order.
            let batches = stride(from: 0, to: count, by: 1000).map { Array(hashes[$0..<min(count, $0 + 1000)]) }
            let last = count - 1
            let anchored = try await pollVerify(emulator, id: "m\(last)") { $0.json["anchoredOnChain"] as? Bool == true }
            #expect(anchored.json["anchoredOnChain"] as? Bool == true, "not anchored in time: \(anchored.text)")

            var toCheck = Set([0, 1, count / 2, count - 2, count - 1].filter { $0 >= 0 && $0 < count })
            if count <= 3 { toCheck = Set(0..<count) }
            if count > 1000 { toCheck.formUnion([998, 999, 1000]) }
            for index in toCheck.sorted() {
                let response = try await pollVerify(emulator, id: "m\(index)") { $0.json["anchoredOnChain"] as? Bool == true }
                #expect(response.status == 200)
                let json = response.json
                #expect(json["verified"] as? Bool == true)
                #expect(json["recordHash"] as? String == hashes[index])
                let proof = json["merkleProof"] as? [[String: Any]] ?? []
                let root = json["merkleRoot"] as? String
                let batch = batches[index / 1000]
                let expectedRoot = "sha256:" + independentRoot(batch.map(rawHash)).map { String(format: "%02x", $0) }.joined()
                #expect(root == expectedRoot, "record \(index)")
                #expect(rootFromProof(recordHash: hashes[index], proof: proof) == root, "record \(index)")
                // Proof length is the tree height: ceil(log2(batch size)).
                var height = 0
                while (1 << height) < batch.count { height += 1 }
                #expect(proof.count == height, "record \(index)")
                if batch.count == 1 {
                    #expect(root == hashes[index])
                    #expect(proof.isEmpty)
                }
                let anchor = json["anchor"] as? [String: Any]
                #expect(anchor?["chain"] as? String == "polygon")
                #expect((anchor?["txHash"] as? String)?.count == 66)
                #expect(anchor?["blockNumber"] as? Int != nil)
                #expect(anchor?["anchoredAt"] as? String != nil)
            }
            let counters = await emulator.counters()
            #expect(counters.batchesFlushed == batches.count)
            #expect(counters.batchesAnchored == batches.count)
        }
    }

    @Test("an odd level pairs its last node with itself")
    func oddLevels() {
        let leaves = (0..<5).map { [UInt8](repeating: UInt8($0), count: 32) }
        let tree = MerkleTree(leaves: leaves)
        #expect(tree.root == independentRoot(leaves))
        // Leaf 4 is alone at level 0 and at level 1: its first two siblings are itself, on the right.
        let proof = tree.proof(forLeaf: 4)
        #expect(proof.count == 3)
        #expect(proof[0] == MerkleProofStep(position: .right, hash: leaves[4]))
        #expect(proof[1].position == .right)
        #expect(proof[2].position == .left)
    }

    @Test("before the flush there is no proof; after it, a proof but no anchor")
    func stagesOfAnchoring() async throws {
        // Flushes by size only (the interval and the anchor delay are an hour), so no step depends on timing.
        let configuration = EmulatorConfiguration.forTests(
            accumulateInterval: .seconds(3600),
            accumulateSize: 2,
            anchorDelay: .seconds(3600)
        )
        try await withCertyoEmulator(configuration: configuration, logger: testLogger) { emulator in
            let first = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "s1", payload: #"{"a":1}"#))
            #expect(first.status == 202)
            let early = try await pollVerify(emulator, id: "s1") { _ in true }
            #expect(early.json["verified"] as? Bool == true)
            #expect(early.json["anchoredOnChain"] as? Bool == false)
            #expect(early.json["recordHash"] as? String == first.json["recordHash"] as? String)
            #expect(early.json["merkleRoot"] == nil)
            #expect(early.json["merkleProof"] == nil)
            #expect(early.json["anchor"] == nil)

            let second = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "s2", payload: #"{"a":2}"#))
            let flushed = try await pollVerify(emulator, id: "s1") { _ in true }
            let proof = flushed.json["merkleProof"] as? [[String: Any]] ?? []
            #expect(proof.count == 1)
            #expect(proof.first?["position"] as? String == "right")
            #expect(proof.first?["hash"] as? String == second.json["recordHash"] as? String)
            let root = flushed.json["merkleRoot"] as? String
            #expect(root != nil)
            #expect(rootFromProof(recordHash: first.json["recordHash"] as? String ?? "", proof: proof) == root)
            #expect(flushed.json["anchoredOnChain"] as? Bool == false)
            #expect(flushed.json["anchor"] == nil)
            let counters = await emulator.counters()
            #expect(counters.batchesFlushed == 1)
            #expect(counters.batchesAnchored == 0)
        }
    }
}
