import ArgumentParser
import CertyoCDC
import Foundation
import Logging

/// The Certyo options `listen` and `poll` share with `run`; PG_DSN and the API key come only from the environment.
struct CaptureCertyoOptions: ParsableArguments {
    @Option(name: .customLong("certyo-url"), help: "Certyo base URL (CERTYO_BASE_URL). Default: https://www.certyos.com")
    var certyoURL: String?
    @Option(name: .customLong("certyo-api-key-file"), help: "File holding the API key (CERTYO_API_KEY_FILE).")
    var apiKeyFile: String?
    @Option(name: .customLong("tenant-id"), help: "Certyo tenant (CERTYO_TENANT_ID).")
    var tenantID: String?
    @Option(name: .customLong("batch-max-records"), help: "Records per bulk call, 1-1000 (CERTYO_BATCH_MAX_RECORDS). Default: 1000")
    var batchMaxRecords: String?
    @Option(name: .customLong("capture-schema"), help: "Schema of the _certyo_* tables (CERTYO_CAPTURE_SCHEMA). Default: public")
    var captureSchema: String?
    @Option(name: .customLong("log-level"), help: "trace ... critical (CERTYO_LOG_LEVEL). Default: info")
    var logLevel: String?

    var flags: [Setting: String] {
        var flags: [Setting: String] = [:]
        let given: [(Setting, String?)] = [
            (.certyoBaseURL, certyoURL), (.certyoAPIKeyFile, apiKeyFile), (.certyoTenantID, tenantID),
            (.batchMaxRecords, batchMaxRecords), (.captureSchema, captureSchema), (.logLevel, logLevel),
        ]
        for case (let setting, let value?) in given { flags[setting] = value }
        return flags
    }
}

/// Loads settings, printing a ConfigError as one line and exiting 2.
func loadOrExit<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ConfigError {
        FileHandle.standardError.write(Data("certyo-cdc: \(error)\n".utf8))
        throw ExitCode(2)
    }
}

/// `certyo-cdc listen`: drains the trigger-filled outbox into Certyo (README, "Without Kafka").
struct ListenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Send the changes the capture trigger records (LISTEN/NOTIFY + outbox) to Certyo; PG_DSN names the database."
    )

    @OptionGroup var certyo: CaptureCertyoOptions
    @Option(name: .customLong("wake-interval"), help: "Read the outbox at least this often without a NOTIFY (CERTYO_LISTEN_WAKE_INTERVAL). Default: 5s")
    var wakeInterval: String?

    func run() async throws {
        var flags = certyo.flags
        if let wakeInterval { flags[.listenWakeInterval] = wakeInterval }
        let raw = RawSettings(flags: flags, environment: ProcessInfo.processInfo.environment)
        let (base, listener) = try loadOrExit {
            let base = try CertyoCDCConfiguration.load(raw)
            return (base, try CaptureSettings.listener(raw, base: base))
        }
        bootstrapLogging(level: base.logLevel)
        try await runCapture(.listen(listener), base: base)
    }
}

/// Runs a capture service; a ConfigError (database not set up) is one line and exit code 2.
func runCapture(_ mode: CaptureApplication.Mode, base: CertyoCDCConfiguration) async throws {
    do {
        try await CaptureApplication.run(mode, configuration: base, logger: Logger(label: "certyo-cdc"))
    } catch let error as ConfigError {
        FileHandle.standardError.write(Data("certyo-cdc: \(error)\n".utf8))
        throw ExitCode(2)
    }
}
