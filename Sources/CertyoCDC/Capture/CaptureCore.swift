import CDCCore
import Logging
import PostgresBridge
import Synchronization

/// What the listener and the poller share: the delivery loop (``BatchDelivery``, the same one the Kafka pipeline
/// uses), the batching limits, and the dead-letter table.
final class CaptureCore: DeliveryHost {
    /// A record to send, with what its dead letter would hold.
    struct Item: Sendable {
        var record: CertyoRecord
        /// The source fields of its dead letter (reason and message are filled in when it is refused).
        var source: CaptureDeadLetter
    }

    typealias Lane = String

    let delivery: BatchDelivery
    private let batching: BatchingConfiguration
    private let deadLetters: PostgresDeadLetterSink
    private let stopping = Atomic<Bool>(false)
    let statistics: PipelineStatistics

    init(batching: BatchingConfiguration, delivery: DeliveryConfiguration, sink: any BatchSink,
         deadLetters: PostgresDeadLetterSink, statistics: PipelineStatistics, logger: Logger) {
        self.batching = batching
        self.deadLetters = deadLetters
        self.statistics = statistics
        self.delivery = BatchDelivery(configuration: delivery, sink: sink, statistics: statistics, logger: logger,
                                      laneMetadataKey: "capture.table")
    }

    /// Stops retries and waits at once; what is not done stays in the outbox / before the cursor.
    func requestStop() { stopping.store(true, ordering: .relaxed) }

    var isStopping: Bool { stopping.load(ordering: .relaxed) || Task.isCancelled }

    /// Sends `items` in order, in bulk calls within the batching limits (records and bytes per call), one call at a
    /// time. Returns `false` if stopped before every item was accepted or dead-lettered.
    func send(_ items: [Item], lane: Lane) async -> Bool {
        var start = 0
        while start < items.count {
            var end = start
            var bytes = 0
            while end < items.count, end - start < batching.maxRecords {
                let size = items[end].record.estimatedJSONBytes
                if end > start, bytes + size > batching.maxBytes { break }
                bytes += size
                end += 1
            }
            guard await delivery.deliver(Array(items[start..<end]), lane: lane, host: self) else { return false }
            start = end
        }
        return true
    }

    /// Writes `letter` to `_certyo_dead_letters`, retrying until it is stored. Returns `false` if stopped first.
    func writeDeadLetter(_ letter: CaptureDeadLetter) async -> Bool {
        await delivery.writeDeadLetterUntilStored(
            lane: "\(letter.table)", host: self, reason: letter.reason, message: letter.message,
            metadata: [
                "capture.mode": "\(letter.mode)", "capture.table": "\(letter.table)",
                "capture.position": "\(letter.position)", "dlq.reason": "\(letter.reason)",
            ]
        ) {
            try await deadLetters.write(letter)
        }
    }

    // MARK: - DeliveryHost

    func record(of item: Item) -> CertyoRecord { item.record }

    func isAbandoned(_ lane: Lane) -> Bool { isStopping }

    /// Nothing to pause: a capture lane reads nothing new while its batch is retried.
    func pauseForRetry(_ lane: Lane) {}

    func resumeAfterRetry(_ lane: Lane) {}

    func deadLetter(_ item: Item, _ rejection: Rejection, lane: Lane) async -> Bool {
        var letter = item.source
        letter.reason = rejection.reason
        letter.message = rejection.message
        letter.httpStatus = rejection.httpStatus
        letter.errorCode = rejection.errorCode
        return await writeDeadLetter(letter)
    }
}

/// A captured table's columns and canonicalizer.
struct CaptureTable: Sendable {
    var name: QualifiedTableName
    var columns: TableColumns
    var canonicalizer: PostgresRowCanonicalizer
    /// Columns of type `money`: their text output depends on `lc_monetary`, so they are read as `numeric`.
    var moneyColumns: Set<String>

    init(_ catalog: CatalogTable, excludedColumns: Set<String>) {
        self.name = catalog.name
        self.columns = TableColumns(catalog)
        self.canonicalizer = PostgresRowCanonicalizer(table: TableName(catalog.name), columns: columns,
                                                      excludedColumns: excludedColumns)
        self.moneyColumns = Set(columns.columns.filter { $0.type == .money }.map(\.name))
    }

    /// The cells of a record literal (`NEW::text`), by column name; `nil` when the literal does not have one cell per
    /// column (the table changed since: refresh the catalog).
    func cells(fromRecordText text: String) -> [String: String?]? {
        guard let values = PostgresRecordText.parse(text), values.count == columns.columns.count else { return nil }
        var cells: [String: String?] = [:]
        for (column, value) in zip(columns.columns, values) {
            let text = moneyColumns.contains(column.name) ? value.map(Self.numericText(money:)) : value
            cells.updateValue(text, forKey: column.name)
        }
        return cells
    }

    /// `money` text output under `lc_monetary=C` (`$1,234.56`, `-$0.50`) as numeric text (`1234.56`, `-0.50`).
    static func numericText(money: String) -> String {
        money.filter { $0 != "$" && $0 != "," && $0 != " " }
    }

    /// The primary-key values of `cells`, as text, in key order.
    func keyText(_ cells: [String: String?]) -> String {
        columns.primaryKey.map { (cells[$0] ?? nil) ?? "NULL" }.joined(separator: ",")
    }
}
