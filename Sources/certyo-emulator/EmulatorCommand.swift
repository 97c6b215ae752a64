import ArgumentParser
import CertyoEmulator
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `certyo-emulator`: a local Certyo API for tests and the demo (see the README section "The Certyo emulator").
@main
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certyo-emulator",
        abstract: "A faithful local Certyo API for tests and the demo.",
        discussion: """
            Prints "listening on HOST:PORT" as the first line of standard output once it listens; logs go to \
            standard error. Durations take seconds ("0.3", "60") or a unit ("300ms", "2s", "1m").
            """
    )

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "TCP port; 0 picks a free port.")
    var port = 0

    @Option(name: .customLong("api-key"), help: "A valid key and its tenant, KEY=TENANT (repeatable).")
    var apiKeys: [String] = []

    @Option(name: .customLong("keys-file"), help: "A file of KEY=TENANT lines ('#' starts a comment).")
    var keysFile: String?

    @Option(help: "Flush an accumulator this long after its first record (default 60).")
    var accumulateInterval: String = "60"

    @Option(help: "Records that fill an accumulator (default 1000).")
    var accumulateSize = 1000

    @Option(help: "Anchor a batch this long after its flush (default 60).")
    var anchorDelay: String = "60"

    @Option(help: "Most records in one bulk call (default 1000).")
    var maxBatch = 1000

    @Option(help: "Largest request body in bytes (default 10485760).")
    var maxBodyBytes = 10 * 1024 * 1024

    @Option(help: "Per-tenant token bucket: RATE or RATE:BURST, requests per second (default off).")
    var rateLimit: String?

    @Option(help: "Seed of the fault generator and fake anchors (default 0).")
    var seed: UInt64 = 0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var configuration = EmulatorConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.apiKeys = try loadKeys()
        configuration.accumulateInterval = try Self.duration(accumulateInterval, option: "--accumulate-interval")
        configuration.accumulateSize = try Self.positive(accumulateSize, option: "--accumulate-size")
        configuration.anchorDelay = try Self.duration(anchorDelay, option: "--anchor-delay")
        configuration.maxBatch = try Self.positive(maxBatch, option: "--max-batch")
        configuration.maxBodyBytes = try Self.positive(maxBodyBytes, option: "--max-body-bytes")
        configuration.rateLimit = try rateLimit.map(Self.rateLimit)
        configuration.seed = seed

        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "certyo-emulator")
        let host = configuration.host
        let tenants = Set(configuration.apiKeys.values).sorted()
        let keyCount = configuration.apiKeys.count
        let service = CertyoEmulatorService(configuration: configuration, logger: logger) { port in
            print("listening on \(host):\(port)")
            fflush(nil)  // flush standard output now: scripts wait for this line
            logger.info(
                "Certyo emulator ready",
                metadata: ["emulator.keys": "\(keyCount)", "emulator.tenants": "\(tenants)"]
            )
        }
        let group = ServiceGroup(
            configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    private func loadKeys() throws -> [String: String] {
        var lines = apiKeys.map { ($0, "--api-key") }
        if let keysFile {
            guard let data = FileManager.default.contents(atPath: keysFile) else {
                throw ValidationError("--keys-file \(keysFile) cannot be read")
            }
            for (number, line) in String(decoding: data, as: UTF8.self).split(
                separator: "\n",
                omittingEmptySubsequences: false
            ).enumerated() {
                let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                let trimmed = Self.trimmed(text)
                if !trimmed.isEmpty { lines.append((trimmed, "\(keysFile) line \(number + 1)")) }
            }
        }
        var keys: [String: String] = [:]
        for (line, origin) in lines {
            let parts = line.split(separator: "=", maxSplits: 1).map(Self.trimmed)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                // Never echo the text: it holds a key.
                throw ValidationError("\(origin) must have the form KEY=TENANT")
            }
            keys[parts[0]] = parts[1]
        }
        return keys
    }

    static func trimmed(_ text: Substring) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    /// Parses "0.3", "0.3s", "300ms" or "2m".
    static func duration(_ text: String, option: String) throws -> Duration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(text)
        var scale = 1.0
        for (suffix, unitScale) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            scale = unitScale
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0 else {
            throw ValidationError("\(option) must be a duration such as 0.3, 60, 300ms or 2m")
        }
        return .milliseconds((value * scale * 1000).rounded())
    }

    static func positive(_ value: Int, option: String) throws -> Int {
        guard value > 0 else { throw ValidationError("\(option) must be at least 1") }
        return value
    }

    /// Parses "RATE" or "RATE:BURST".
    static func rateLimit(_ text: String) throws -> RateLimit {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard let rate = parts.first.flatMap({ Double($0) }), rate > 0 else {
            throw ValidationError("--rate-limit must be RATE or RATE:BURST with RATE above 0, e.g. 5 or 5:10")
        }
        var burst: Int?
        if parts.count == 2 {
            guard let value = Int(parts[1]), value >= 1 else {
                throw ValidationError("--rate-limit BURST must be a whole number of at least 1")
            }
            burst = value
        }
        return RateLimit(requestsPerSecond: rate, burst: burst)
    }
}
