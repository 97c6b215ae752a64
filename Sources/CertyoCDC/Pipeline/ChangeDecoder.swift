import CDCCore

/// Turns Kafka records into Certyo records. The pipeline's driver task owns one and calls it serially.
public protocol ChangeDecoder: Sendable {
    /// Decodes one record (pure, no I/O).
    mutating func decode(_ message: SourceMessage) -> DecodeOutcome
    /// Reloads the column types of `table` (schemaless messages), after ``decode(_:)`` answered `.needsCatalog`.
    /// - Throws: When the catalog cannot be read; the pipeline retries.
    mutating func refreshCatalog(for table: TableName) async throws
    /// Warnings to log once (a lossy connector setting, a table without `REPLICA IDENTITY FULL`).
    mutating func takeWarnings() -> [String]
}
