import CDCCore
import CertyoClient
import Synchronization
import Testing

@testable import CertyoCDC

/// A tiny Merkle tree built with the same rules as Certyo (parent = SHA-256(left ‖ right) over raw bytes), through
/// code independent of `MerkleProof.verifies`.
enum Tree {
    static func leaf(_ text: String) -> String { CanonicalRowReader.hash(Array(text.utf8)) }

    static func parent(_ left: String, _ right: String) -> String {
        CanonicalRowReader.hash(PrefixedSHA256.bytes(left)! + PrefixedSHA256.bytes(right)!)
    }

    /// Flips the lowest bit of the last hex digit.
    static func flipped(_ hash: String) -> String {
        var bytes = Array(hash.utf8)
        let last = bytes.count - 1
        bytes[last] = bytes[last] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        return String(decoding: bytes, as: UTF8.self)
    }

    static let anchor = VerifyResponse.Anchor(chain: "polygon", txHash: "0x" + String(repeating: "ab", count: 32),
                                              blockNumber: 42, anchoredAt: "2026-11-25T03:00:00Z")

    /// Three leaves a, b, c: root = H(H(a‖b) ‖ H(c‖c)). The answer about `b`.
    static func answerAboutB(anchored: Bool = true) -> (hash: String, response: VerifyResponse) {
        let a = leaf("a"), b = leaf("b"), c = leaf("c")
        let root = parent(parent(a, b), parent(c, c))
        let response = VerifyResponse(
            verified: true, anchoredOnChain: anchored, recordHash: b, merkleRoot: root,
            merkleProof: [.init(position: .left, hash: a), .init(position: .right, hash: parent(c, c))],
            anchor: anchored ? anchor : nil
        )
        return (b, response)
    }
}

@Suite struct AnchorCheckTests {
    @Test func aValidProofToTheAnchoredRootIsAnchored() {
        let (hash, response) = Tree.answerAboutB()
        #expect(AnchorCheck.check(response, recordHash: hash) == .anchored(merkleRoot: response.merkleRoot!,
                                                                           anchor: Tree.anchor))
    }

    @Test func aBatchOfOneHasTheHashAsRootAndAnEmptyProof() {
        let hash = Tree.leaf("only")
        let response = VerifyResponse(verified: true, anchoredOnChain: true, recordHash: hash, merkleRoot: hash,
                                      merkleProof: [], anchor: Tree.anchor)
        #expect(AnchorCheck.check(response, recordHash: hash) == .anchored(merkleRoot: hash, anchor: Tree.anchor))
    }

    @Test func aForgedSiblingIsRejected() {
        var (hash, response) = Tree.answerAboutB()
        response.merkleProof[0].hash = Tree.flipped(response.merkleProof[0].hash)
        guard case .rejected(let reason) = AnchorCheck.check(response, recordHash: hash) else {
            Issue.record("a forged sibling was accepted")
            return
        }
        #expect(reason.contains("does not lead"))
    }

    @Test func aForgedRootIsRejected() {
        var (hash, response) = Tree.answerAboutB()
        response.merkleRoot = Tree.flipped(response.merkleRoot!)
        #expect(AnchorCheck.check(response, recordHash: hash) != .anchored(merkleRoot: response.merkleRoot!,
                                                                           anchor: Tree.anchor))
        if case .rejected = AnchorCheck.check(response, recordHash: hash) {} else { Issue.record("not rejected") }
    }

    @Test func swappedPositionsAreRejected() {
        var (hash, response) = Tree.answerAboutB()
        response.merkleProof[0].position = .right
        if case .rejected = AnchorCheck.check(response, recordHash: hash) {} else { Issue.record("not rejected") }
    }

    @Test func verifiedTrueAloneIsNotEnough() {
        // Certyo says verified and anchored, but the proof belongs to another leaf.
        let (_, response) = Tree.answerAboutB()
        let other = Tree.leaf("other")
        var lying = response
        lying.recordHash = other
        if case .rejected = AnchorCheck.check(lying, recordHash: other) {} else { Issue.record("not rejected") }
        // An answer about a different hash than the one asked is never taken.
        if case .rejected = AnchorCheck.check(response, recordHash: other) {} else { Issue.record("not rejected") }
    }

    @Test func storedButNotAnchoredIsNotAnchored() {
        let (hash, response) = Tree.answerAboutB(anchored: false)
        #expect(AnchorCheck.check(response, recordHash: hash) == .notAnchored)
    }
}

/// Answers proof questions from a table of versions, newest last, like Certyo's store.
final class FakeProofSource: CertyoProofSource {
    struct Version {
        var hash: String
        var operation: String
        var response: VerifyResponse
    }

    let versions: Mutex<[String: [Version]]>

    init(_ versions: [String: [Version]]) { self.versions = Mutex(versions) }

    func latestVersion(database: String, collection: String, recordId: String) async throws -> LatestVersion? {
        versions.withLock { $0[recordId]?.last }.map {
            LatestVersion(recordHash: $0.hash, operationType: $0.operation, acceptedAt: "2026-11-25T03:00:00Z")
        }
    }

    func verify(database: String, collection: String, recordId: String, recordHash: String) async throws
        -> VerifyResponse?
    {
        versions.withLock { $0[recordId]?.last { $0.hash == recordHash }?.response }
    }

    static func version(_ text: String, operation: String = "update", anchored: Bool = true) -> Version {
        let hash = Tree.leaf(text)
        return Version(hash: hash, operation: operation, response: VerifyResponse(
            verified: true, anchoredOnChain: anchored, recordHash: hash, merkleRoot: anchored ? hash : nil,
            merkleProof: [], anchor: anchored ? Tree.anchor : nil))
    }
}

@Suite struct RowProverTests {
    func prove(_ versions: [FakeProofSource.Version], row: String, present: Bool = true) async throws -> RowProof {
        let prover = RowProver(source: FakeProofSource(["42": versions]), database: "shop")
        return try await prover.prove(collection: "public.products", recordId: "42", computedHash: Tree.leaf(row),
                                      rowPresent: present)
    }

    @Test func theLatestAnchoredVersionWithAValidProofIsIntact() async throws {
        let proof = try await prove([FakeProofSource.version("v1"), FakeProofSource.version("v2")], row: "v2")
        #expect(proof.verdict == .intact)
        #expect(proof.merkleRoot == Tree.leaf("v2"))
        #expect(proof.anchor == Tree.anchor)
    }

    @Test func aHashNoVersionHasIsTampered() async throws {
        let proof = try await prove([FakeProofSource.version("v1")], row: "edited")
        #expect(proof.verdict == .tampered)
        #expect(proof.detail.contains("no version at Certyo has"))
    }

    @Test func aRowChangedBackToAnOlderVersionIsTampered() async throws {
        let proof = try await prove([FakeProofSource.version("v1"), FakeProofSource.version("v2")], row: "v1")
        #expect(proof.verdict == .tampered)
        #expect(proof.detail.contains("older version"))
    }

    @Test func theLatestVersionNotYetAnchoredIsNotAnchoredYet() async throws {
        let proof = try await prove([FakeProofSource.version("v1"), FakeProofSource.version("v2", anchored: false)], row: "v2")
        #expect(proof.verdict == .notAnchoredYet)
    }

    @Test func aRecordCertyoHasNeverSeenIsUnknown() async throws {
        #expect(try await prove([], row: "v1").verdict == .unknownToCertyo)
        #expect(try await prove([], row: "v1", present: false).verdict == .unknownToCertyo)
    }

    @Test func aRowGoneWithAnAnchoredDeletionIsDeleted() async throws {
        let proof = try await prove([FakeProofSource.version("v1"), FakeProofSource.version("key", operation: "delete")], row: "key", present: false)
        #expect(proof.verdict == .deleted)
    }

    @Test func aRowGoneWithoutACapturedDeletionIsTampered() async throws {
        let proof = try await prove([FakeProofSource.version("v1")], row: "key", present: false)
        #expect(proof.verdict == .tampered)
        #expect(proof.detail.contains("deleted outside capture"))
    }

    @Test func aRowBackAfterItsDeletionIsTampered() async throws {
        let proof = try await prove([FakeProofSource.version("v1"), FakeProofSource.version("key", operation: "delete")], row: "v1")
        #expect(proof.verdict == .tampered)
    }

    @Test func aForgedProofIsRejectedNotIntact() async throws {
        var forged = FakeProofSource.version("v2")
        forged.response.merkleRoot = Tree.flipped(forged.hash)
        let proof = try await prove([FakeProofSource.version("v1"), forged], row: "v2")
        #expect(proof.verdict == .proofRejected)
        #expect(proof.anchor == nil)
    }

    @Test func exitCodesTellScriptsWhatHappened() {
        func code(_ verdicts: [ProofVerdict]) -> Int32 { Prove.exitCode(summaryOf: verdicts) }
        #expect(code([.intact, .notAnchoredYet, .unknownToCertyo, .deleted]) == Prove.ExitCode.ok)
        #expect(code([.intact, .tampered, .proofRejected]) == Prove.ExitCode.tampered)
        #expect(code([.intact, .proofRejected]) == Prove.ExitCode.proofRejected)
        #expect(Set([Prove.ExitCode.ok, Prove.ExitCode.tampered, Prove.ExitCode.configuration,
                     Prove.ExitCode.proofRejected, Prove.ExitCode.operational]).count == 5)
    }
}

@Suite struct VerificationStatusTests {
    let row = CanonicalRowReader.Row(cells: ["id": "42"], key: ["42"], recordId: "42", recordHash: Tree.leaf("v1"))

    func status(_ answer: VerifyResponse?, age: Double = 0) -> RecordStatus {
        VerificationWorker<ContinuousClock>.status(of: row, answer: answer, ageSeconds: age, graceSeconds: 60)
    }

    @Test func anAnchoredHashWithAValidProofIsAnchored() {
        let answer = FakeProofSource.version("v1").response
        let result = status(answer)
        #expect(result.status == .anchored)
        #expect(result.recordHash == row.recordHash)
        #expect(result.anchorTransaction == Tree.anchor.txHash)
        #expect(result.anchorBlock == 42)
    }

    @Test func aStoredHashNotYetAnchoredIsPending() {
        #expect(status(FakeProofSource.version("v1", anchored: false).response).status == .pending)
    }

    @Test func anUnknownHashIsPendingWithinTheGracePeriodThenFailed() {
        #expect(status(nil, age: 59).status == .pending)
        let failed = status(nil, age: 60)
        #expect(failed.status == .failed)
        #expect(failed.detail?.contains("outside capture") == true)
    }

    @Test func aForgedProofFails() {
        var answer = FakeProofSource.version("v1").response
        answer.merkleRoot = Tree.flipped(answer.merkleRoot!)
        let result = status(answer)
        #expect(result.status == .failed)
        #expect(result.detail?.hasPrefix("proof rejected") == true)
    }

    @Test func arrayLiteralsEscapeQuotesBackslashesAndKeepNulls() {
        #expect(RecordStatusStore.arrayLiteral(["42", #"[1001,"a\"b"]"#, nil, #"c\d"#, ""])
                == #"{"42","[1001,\"a\\\"b\"]",NULL,"c\\d",""}"#)
        #expect(RecordStatusStore.arrayLiteral([]) == "{}")
    }
}

@Suite struct VerificationConfigurationTests {
    let base = ["CERTYO_API_KEY": "cty_SECRET_key_0000000000", "CERTYO_TENANT_ID": "acme-corp"]

    func load(_ extra: [String: String]) throws -> CertyoCDCConfiguration {
        try CertyoCDCConfiguration.load(RawSettings(environment: base.merging(extra) { $1 }))
    }

    @Test func theWorkerIsOffByDefaultWithDocumentedDefaults() throws {
        let verification = try load([:]).verification
        #expect(!verification.enabled)
        #expect(verification.interval == .seconds(30))
        #expect(verification.batchSize == 100)
        #expect(verification.concurrency == 4)
        #expect(verification.gracePeriod == .seconds(900))
        #expect(verification.tables.isEmpty)
        #expect(verification.publication == "certyo_publication")
    }

    @Test func everySettingIsRead() throws {
        let verification = try load([
            "CERTYO_VERIFY_ENABLED": "true", "PG_DSN": "host=db dbname=shop", "CERTYO_VERIFY_INTERVAL": "2m",
            "CERTYO_VERIFY_BATCH_SIZE": "500", "CERTYO_VERIFY_CONCURRENCY": "8", "CERTYO_VERIFY_GRACE_PERIOD": "90s",
            "CERTYO_VERIFY_TABLES": "public.products, sales.order_lines", "CERTYO_VERIFY_PUBLICATION": "pub",
        ]).verification
        #expect(verification.enabled)
        #expect(verification.interval == .seconds(120))
        #expect(verification.batchSize == 500)
        #expect(verification.concurrency == 8)
        #expect(verification.gracePeriod == .seconds(90))
        #expect(verification.tables == [TableName(schema: "public", table: "products"),
                                        TableName(schema: "sales", table: "order_lines")])
        #expect(verification.publication == "pub")
    }

    @Test func enablingTheWorkerWithoutPGDSNNamesTheSettingAndTheFix() {
        #expect {
            try load(["CERTYO_VERIFY_ENABLED": "true"])
        } throws: { error in
            let text = "\(error)"
            return text.contains("PG_DSN") && text.contains("fix:") && !text.contains("cty_SECRET")
        }
    }

    @Test func badValuesAreNamed() {
        for (variable, value) in [("CERTYO_VERIFY_TABLES", "products"), ("CERTYO_VERIFY_BATCH_SIZE", "0"),
                                  ("CERTYO_VERIFY_INTERVAL", "soon"), ("CERTYO_VERIFY_ENABLED", "maybe")] {
            #expect {
                try load([variable: value])
            } throws: { error in
                "\(error)".contains(variable)
            }
        }
    }
}
