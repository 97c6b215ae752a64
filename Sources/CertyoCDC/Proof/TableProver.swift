import CDCCore
import PostgresBridge

/// Proves one row, or every row of a table, against Certyo: what `certyo-cdc prove` runs.
public struct TableProver<Source: CertyoProofSource>: Sendable {
    /// The verdict counts of a run, and the rows that could not be read as canonical rows.
    public struct Summary: Sendable, Hashable {
        public var counts: [ProofVerdict: Int] = [:]
        /// Rows whose text could not be canonicalised (each is reported through `onError`).
        public var errors = 0
        public var rows: Int { counts.values.reduce(0, +) + errors }

        public init() {}

        public subscript(verdict: ProofVerdict) -> Int { counts[verdict] ?? 0 }
    }

    public let reader: CanonicalRowReader
    public let prover: RowProver<Source>

    public init(reader: CanonicalRowReader, prover: RowProver<Source>) {
        self.reader = reader
        self.prover = prover
    }

    /// Proves the row with primary key `key` (text per key column, in key order), whether or not it is still in the
    /// table.
    ///
    /// - Throws: A `PostgresError` (unreachable, or a key value invalid for its type), a `CanonicalRowError`, or what
    ///   the ``CertyoProofSource`` throws.
    public func proveRow(key: [String], on connection: PostgresConnection) async throws -> RowProof {
        let collection = reader.table.description
        if let cells = try await reader.row(key: key, on: connection) {
            let row = try reader.canonical(cells)
            return try await prover.prove(
                collection: collection, recordId: row.recordId, computedHash: row.recordHash, rowPresent: true)
        }
        let deletion = try reader.deletion(try await reader.canonicalKey(key, on: connection))
        return try await prover.prove(
            collection: collection, recordId: deletion.recordId, computedHash: deletion.hash, rowPresent: false)
    }

    /// Proves every row now in the table, in primary-key order, `batchSize` rows a query.
    ///
    /// Rows that are gone are not visited: prove them one by one (`--id`) to see `deleted`.
    ///
    /// - Parameters:
    ///   - batchSize: Rows read per query (keyset pagination on the primary key).
    ///   - onRow: Called with each row's proof, in key order.
    ///   - onError: Called for a row that cannot be read as a canonical row (its key and the error).
    /// - Returns: The verdict counts.
    /// - Throws: A `PostgresError`, or what the ``CertyoProofSource`` throws; a row that cannot be canonicalised is
    ///   reported through `onError` and counted, not thrown.
    public func proveTable(
        batchSize: Int,
        on connection: PostgresConnection,
        onRow: (RowProof) -> Void,
        onError: ([String?], CanonicalRowError) -> Void
    ) async throws -> Summary {
        var summary = Summary()
        var after: [String?]? = nil
        let collection = reader.table.description
        while true {
            let page = try await reader.page(after: after, limit: batchSize, on: connection)
            for cells in page {
                let row: CanonicalRowReader.Row
                do {
                    row = try reader.canonical(cells)
                } catch {
                    summary.errors += 1
                    onError(reader.keyColumnNames.map { cells[$0] ?? nil }, error)
                    continue
                }
                let proof = try await prover.prove(
                    collection: collection, recordId: row.recordId, computedHash: row.recordHash, rowPresent: true)
                summary.counts[proof.verdict, default: 0] += 1
                onRow(proof)
            }
            guard page.count == batchSize, let last = page.last else { break }
            after = reader.keyColumnNames.map { last[$0] ?? nil }
        }
        return summary
    }
}
