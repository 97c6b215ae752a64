import ArgumentParser
import CertyoCDC
import Foundation
import Logging

/// `certyo-cdc doctor`: checks a deployment end to end and prints one line per check, with the fix when it fails.
/// Reads the same environment as `run` (README "doctor").
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check PostgreSQL, the publication and slot, Certyo and Kafka; print one line per check.",
        discussion: """
            Reads the same settings as run (flags or environment: PG_DSN, CERTYO_*, KAFKA_*). Each line is \
            `ok`, `warn` or `FAIL`, the check's name, what was found and, unless ok, the fix. Exit status: 0 when \
            no check failed, 1 when one did, 2 for a configuration error.
            """
    )

    @Option(name: .customLong("certyo-url"), help: "Certyo base URL (CERTYO_BASE_URL).")
    var certyoURL: String?
    @Option(name: .customLong("certyo-api-key-file"), help: "File holding the API key (CERTYO_API_KEY_FILE); the key itself only from CERTYO_API_KEY.")
    var apiKeyFile: String?
    @Option(name: .customLong("tenant-id"), help: "Certyo tenant (CERTYO_TENANT_ID).")
    var tenantID: String?
    @Option(name: .customLong("bootstrap-servers"), help: "Kafka bootstrap servers (KAFKA_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?
    @Option(name: .customLong("kafka-property"), help: "librdkafka property key=value, repeatable (KAFKA_PROPERTIES).")
    var kafkaProperties: [String] = []
    @Option(name: .customLong("slot-name"), help: "The connector's slot.name (CERTYO_SLOT_NAME). Default: certyo_slot")
    var slotName: String?
    @Option(name: .customLong("publication"), help: "The connector's publication.name (CERTYO_PUBLICATION). Default: certyo_publication")
    var publication: String?
    @Option(name: .customLong("topic-prefix"), help: "The connector's topic.prefix (CERTYO_TOPIC_PREFIX). Default: certyo")
    var topicPrefix: String?
    @Option(name: .customLong("timeout"), help: "Bound of each network check: seconds, or with ms, s or m (500ms, 10s, 2m). Default: 10s")
    var timeout: String?

    func run() async throws {
        var flags: [Setting: String] = [:]
        let given: [(Setting, String?)] = [
            (.certyoBaseURL, certyoURL), (.certyoAPIKeyFile, apiKeyFile), (.certyoTenantID, tenantID),
            (.bootstrapServers, bootstrapServers), (.slotName, slotName), (.publicationName, publication),
            (.topicPrefix, topicPrefix),
        ]
        for case (let setting, let value?) in given { flags[setting] = value }
        let raw = RawSettings(flags: flags, repeatedFlags: [.kafkaProperties: kafkaProperties],
                              environment: ProcessInfo.processInfo.environment)
        var doctor: Doctor.Configuration
        do {
            let configuration = try CertyoCDCConfiguration.load(raw)
            doctor = try Doctor.Configuration(configuration, raw: raw)
        } catch let error as ConfigError {
            FileHandle.standardOutput.write(Data("FAIL configuration: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if let timeout {
            guard let duration = SettingParser.duration(timeout), duration > .zero else {
                FileHandle.standardOutput.write(
                    Data("FAIL configuration: --timeout: '\(timeout)' is not a duration; fix: give e.g. 10s, 500ms or 2m\n".utf8))
                throw ExitCode(2)
            }
            doctor.timeout = duration
        }
        // The clients' own lines (librdkafka, libpq) go to stderr at warning and above; the results to stdout.
        bootstrapLogging(level: .warning)
        let results = await Doctor(configuration: doctor, logger: Logger(label: "certyo-cdc.doctor")).run { check in
            // Unbuffered: each line shows as soon as its check is done.
            FileHandle.standardOutput.write(Data("\(check)\n".utf8))
        }
        if results.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }

}
