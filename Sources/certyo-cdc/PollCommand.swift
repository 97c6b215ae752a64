import ArgumentParser
import CertyoCDC
import Foundation
import Logging

/// `certyo-cdc poll`: keyset polling of one table into Certyo (README, "Without Kafka").
struct PollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Poll one table on (version column, primary key) and send new row versions to Certyo; PG_DSN names the database."
    )

    @OptionGroup var certyo: CaptureCertyoOptions
    @Option(name: .customLong("table"), help: "schema.table to poll (CERTYO_POLL_TABLE).")
    var table: String?
    @Option(name: .customLong("column"), help: "Version column set on every write (CERTYO_POLL_COLUMN). Default: updated_at")
    var column: String?
    @Option(name: .customLong("deleted-column"), help: "Soft-delete column; non-NULL rows are sent as deletes (CERTYO_POLL_DELETED_COLUMN).")
    var deletedColumn: String?
    @Option(name: .customLong("poll-interval"), help: "Pause after a page that was not full (CERTYO_POLL_INTERVAL). Default: 1s")
    var interval: String?
    @Option(name: .customLong("poll-overlap"), help: "Margin below the oldest open transaction's start (CERTYO_POLL_OVERLAP). Default: 2s")
    var overlap: String?

    func run() async throws {
        var flags = certyo.flags
        let given: [(Setting, String?)] = [
            (.pollTable, table), (.pollColumn, column), (.pollDeletedColumn, deletedColumn), (.pollInterval, interval),
            (.pollOverlap, overlap),
        ]
        for case (let setting, let value?) in given { flags[setting] = value }
        let raw = RawSettings(flags: flags, environment: ProcessInfo.processInfo.environment)
        let (base, poller) = try loadOrExit {
            let base = try CertyoCDCConfiguration.load(raw)
            return (base, try CaptureSettings.poller(raw, base: base))
        }
        bootstrapLogging(level: base.logLevel)
        try await runCapture(.poll(poller), base: base)
    }
}
