import CertyoClient

/// Decides the ``ProofVerdict`` of one row from the hash computed here and what Certyo answers.
///
/// The row's hash is compared with Certyo's *latest* version of the record (a row that matches only an older version
/// was changed back outside capture), and only a Merkle proof recomputed here from that hash to the anchored root
/// makes a row `intact`.
public struct RowProver<Source: CertyoProofSource>: Sendable {
    public let source: Source
    /// The `database` of the records, as the pipeline sends it (Debezium's `source.db`: the database name).
    public let database: String

    public init(source: Source, database: String) {
        self.source = source
        self.database = database
    }

    /// Proves one row.
    ///
    /// - Parameters:
    ///   - collection: `schema.table`.
    ///   - recordId: The record id, as the canonical row defines it.
    ///   - computedHash: For a row in the table, the hash of its canonical payload; for a row that is gone, the hash
    ///     of its deletion's payload (the key columns only).
    ///   - rowPresent: Whether the row is in the table now.
    /// - Returns: The verdict and the facts behind it.
    /// - Throws: What the ``CertyoProofSource`` throws (Certyo unreachable, the key refused, ...).
    public func prove(collection: String, recordId: String, computedHash: String, rowPresent: Bool) async throws
        -> RowProof
    {
        var proof = RowProof(
            collection: collection, recordId: recordId, verdict: .unknownToCertyo, computedHash: computedHash,
            rowPresent: rowPresent, detail: ""
        )
        guard let latest = try await source.latestVersion(
            database: database, collection: collection, recordId: recordId)
        else {
            proof.detail = rowPresent
                ? "Certyo holds no version of this record: it was never captured, or its change is not ingested yet"
                : "the row is not in the table and Certyo holds no version of it"
            return proof
        }
        proof.latestHash = latest.recordHash
        proof.latestOperation = latest.operationType
        proof.latestAcceptedAt = latest.acceptedAt
        let latestIsDeletion = latest.operationType == "delete"

        if !rowPresent && !latestIsDeletion {
            proof.verdict = .tampered
            proof.detail = "the row is gone, but Certyo's latest version (\(latest.operationType ?? "no operation"), "
                + "accepted \(latest.acceptedAt)) is not a deletion: it was deleted outside capture"
            return proof
        }
        guard latest.recordHash == computedHash else {
            proof.verdict = .tampered
            let older = try await source.verify(
                database: database, collection: collection, recordId: recordId, recordHash: computedHash)
            if rowPresent && latestIsDeletion {
                proof.detail = "the row is in the table, but Certyo's latest version is its deletion (accepted "
                    + "\(latest.acceptedAt)): it was re-inserted outside capture"
            } else if older != nil {
                proof.detail = "the row hashes to \(computedHash), an older version at Certyo; the latest version "
                    + "(accepted \(latest.acceptedAt)) is \(latest.recordHash): changed back outside capture"
            } else {
                proof.detail = "the row hashes to \(computedHash), which no version at Certyo has; the latest version "
                    + "(accepted \(latest.acceptedAt)) is \(latest.recordHash)"
            }
            return proof
        }
        guard let answer = try await source.verify(
            database: database, collection: collection, recordId: recordId, recordHash: computedHash)
        else {
            // The latest version was just listed with this hash; a 404 now means Certyo contradicts itself.
            proof.verdict = .proofRejected
            proof.detail = "Certyo lists \(computedHash) as the latest version but does not verify it"
            return proof
        }
        switch AnchorCheck.check(answer, recordHash: computedHash) {
        case .notAnchored:
            proof.verdict = .notAnchoredYet
            proof.detail = "the row matches Certyo's latest version (accepted \(latest.acceptedAt)), not anchored yet"
        case .rejected(let reason):
            proof.verdict = .proofRejected
            proof.detail = reason
        case .anchored(let root, let anchor):
            proof.verdict = rowPresent ? .intact : .deleted
            proof.merkleRoot = root
            proof.anchor = anchor
            proof.detail = rowPresent
                ? "the row matches Certyo's latest version; its Merkle proof leads to root \(root), anchored on "
                    + "\(anchor.chain) in \(anchor.txHash) (block \(anchor.blockNumber)) at \(anchor.anchoredAt)"
                : "the row was deleted through capture; the deletion's Merkle proof leads to root \(root), anchored "
                    + "on \(anchor.chain) in \(anchor.txHash) (block \(anchor.blockNumber)) at \(anchor.anchoredAt)"
        }
        return proof
    }
}
