import ArgumentParser
import CertyoCDC
import Foundation
import Logging

/// `certyo-cdc setup listen|poll --table ...`: installs (or, with `--print`, prints) the SQL the mode needs.
struct SetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Install (or --print) the outbox trigger (listen) or the cursor table (poll); PG_DSN names the database."
    )

    @Argument(help: "listen or poll")
    var mode: String
    @Option(name: .customLong("table"), help: "schema.table to capture; repeatable.")
    var tables: [String] = []
    @Option(name: .customLong("column"), help: "poll: the version column (for the recommended index). Default: updated_at")
    var column: String = "updated_at"
    @Option(name: .customLong("capture-schema"), help: "Schema of the _certyo_* tables (CERTYO_CAPTURE_SCHEMA). Default: public")
    var captureSchema: String?
    @Flag(name: .customLong("print"), help: "Print the SQL instead of running it (without PG_DSN no table is checked).")
    var print = false

    func run() async throws {
        var flags: [Setting: String] = [:]
        if let captureSchema { flags[.captureSchema] = captureSchema }
        let raw = RawSettings(flags: flags, environment: ProcessInfo.processInfo.environment)
        bootstrapLogging(level: .warning)
        do {
            let output = try await CaptureSetup.perform(mode: mode, tables: tables, versionColumn: column, print: print,
                                                        raw: raw, logger: Logger(label: "certyo-cdc"))
            if print {
                FileHandle.standardOutput.write(Data(output.utf8))
            } else {
                FileHandle.standardError.write(Data("certyo-cdc: \(output)".utf8))
            }
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("certyo-cdc: \(error)\n".utf8))
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("certyo-cdc: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
