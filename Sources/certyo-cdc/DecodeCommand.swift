import ArgumentParser
import CDCCore
import Foundation

/// `certyo-cdc decode [FILE]`: prints, for each Kafka record (one per line), the Certyo record certyo-cdc would
/// send, or the skip / dead-letter outcome with its reason. For debugging connector settings.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode Debezium Kafka records (one per line) and print what certyo-cdc would send.",
        discussion: """
            Input lines: the debezium-samples format {"seq":..,"topic":..,"key":..,"value":..,"headers":[..]} or \
            kcat -J output. Output: one JSON object per input line, with "outcome" record, skip, deadLetter or \
            needsCatalog. Lossy-setting warnings go to stderr.
            """
    )

    @Argument(help: "The input file (default: standard input).")
    var file: String?

    @Option(help: "The database name of every record (default: the message's source.db).")
    var database: String?

    @Option(help: "The connector's decimal.handling.mode: precise, string, double.")
    var decimalHandlingMode: String?

    @Option(help: "The connector's time.precision.mode: adaptive, adaptive_time_microseconds, connect.")
    var timePrecisionMode: String?

    @Option(help: "The connector's interval.handling.mode: numeric, string.")
    var intervalHandlingMode: String?

    @Option(help: "The connector's binary.handling.mode: bytes, base64, base64-url-safe, hex.")
    var binaryHandlingMode: String?

    @Option(help: "Take the four mode settings from a connector JSON file ({\"config\":{...}} or a flat object).")
    var connectorConfig: String?

    @Option(help: "A JSON file of column types for schemaless input (see README, \"The canonical row\").")
    var columnTypes: String?

    @Option(help: "Leave a column out of payloads: column or schema.table.column (repeatable).")
    var excludeColumn: [String] = []

    mutating func run() throws {
        var configuration = DebeziumDecoder.Configuration()
        configuration.database = database
        configuration.excludedColumns = Set(excludeColumn)
        if let connectorConfig {
            let properties = try Self.readProperties(connectorConfig)
            do {
                try configuration.applyConnectorProperties(properties)
            } catch {
                throw ValidationError("--connector-config \(connectorConfig): \(error)")
            }
        }
        if let value = decimalHandlingMode {
            guard let mode = DecimalHandlingMode(rawValue: value) else {
                throw ValidationError("--decimal-handling-mode \(value): use precise, string or double")
            }
            configuration.decimalHandlingMode = mode
        }
        if let value = timePrecisionMode {
            guard let mode = TimePrecisionMode(rawValue: value) else {
                throw ValidationError(
                    "--time-precision-mode \(value): use adaptive, adaptive_time_microseconds or connect")
            }
            configuration.timePrecisionMode = mode
        }
        if let value = intervalHandlingMode {
            guard let mode = IntervalHandlingMode(rawValue: value) else {
                throw ValidationError("--interval-handling-mode \(value): use numeric or string")
            }
            configuration.intervalHandlingMode = mode
        }
        if let value = binaryHandlingMode {
            guard let mode = BinaryHandlingMode(rawValue: value) else {
                throw ValidationError("--binary-handling-mode \(value): use bytes, base64, base64-url-safe or hex")
            }
            configuration.binaryHandlingMode = mode
        }
        var catalog = ColumnCatalog()
        if let columnTypes {
            guard let data = FileManager.default.contents(atPath: columnTypes) else {
                throw ValidationError("--column-types \(columnTypes): cannot read the file")
            }
            do {
                catalog = try ColumnCatalog(jsonBytes: Array(data))
            } catch {
                throw ValidationError("--column-types \(columnTypes): \(error)")
            }
        }
        // The catalog seam: a database-backed source (--pg-dsn, through PostgresBridge) plugs in here later.
        var tool = DecodeLineTool(decoder: DebeziumDecoder(configuration: configuration, catalog: catalog))

        var lineNumber = 0
        func handle(_ line: Substring) {
            lineNumber += 1
            guard !line.allSatisfy({ $0 == " " || $0 == "\r" }) else { return }
            let result = tool.process(line: Array(line.utf8), lineNumber: lineNumber)
            print(result.output)
            for warning in result.warnings {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
        }
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let text = String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) { handle(line) }
        } else {
            while let line = readLine(strippingNewline: true) { handle(Substring(line)) }
        }
    }

    private static func readProperties(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw ValidationError("--connector-config \(path): cannot read a JSON object from the file")
        }
        let config = object["config"] as? [String: Any] ?? object
        var properties: [String: String] = [:]
        for (key, value) in config {
            if let text = value as? String { properties[key] = text }
        }
        return properties
    }
}
