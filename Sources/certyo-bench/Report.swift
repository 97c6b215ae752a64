import Foundation

/// Prints the benchmark's progress (stderr) and its results table with ratios and targets (stdout).
struct Report {
    var quick: Bool
    var lingerMs: Int

    struct ShapeResult {
        var shape: EnvelopeShape
        var backlog = 0
        var decode: DecodeBench.Result?
        var raw: KafkaBenches.Rate?
        var endToEnd: KafkaBenches.EndToEnd?
        var skipped: String?
    }

    /// The targets of issue #10.
    enum Target {
        static func endToEndRatio(_ shape: EnvelopeShape) -> Double { shape == .schemaless ? 0.50 : 0.40 }
        static func decodeRate(_ shape: EnvelopeShape) -> Double { shape == .schemaless ? 400_000 : 100_000 }
        static let peakRSSBytes = 150 * 1024 * 1024
        static let latencyMarginSeconds = 0.100
    }

    func progress(_ line: String) {
        FileHandle.standardError.write(Data("certyo-bench: \(line)\n".utf8))
    }

    func say(_ line: String = "") {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    func header(settings: BenchCommand) {
        #if DEBUG
        let build = "debug build (figures are not representative: use scripts/bench.sh without --quick)"
        #else
        let build = "release build"
        #endif
        let date = ISO8601DateFormatter().string(from: Date())
        say("certyo-bench \(quick ? "--quick " : "")\(date), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(build)")
        say("linger \(lingerMs) ms, \(settings.partitions) partitions, librdkafka mock cluster in the benchmark process, 202 sink that parses nothing")
    }

    func shapeDone(_ result: ShapeResult) {
        progress("\(result.shape.label): done")
    }

    private static func rate(_ value: Double) -> String {
        value >= 10_000 ? String(format: "%.0f k/s", value / 1000) : String(format: "%.0f /s", value)
    }

    private func verdict(_ met: Bool) -> String { quick ? (met ? "(met)" : "(missed)") : (met ? "MET" : "MISSED") }

    /// Prints the table and the targets; returns whether every measured target was met.
    func summary(_ results: [ShapeResult]) -> Bool {
        var allMet = true
        say()
        for result in results {
            let envelope = result.decode.map { "~\(($0.envelopeBytes + 50) / 100 * 100) B envelopes" } ?? ""
            say("\(result.shape.label) (\(envelope), backlog \(result.backlog))")
            if let raw = result.raw {
                say(String(format: "  (a) raw drain, librdkafka alone     %@ steady (%d records in %.1f s)",
                           Self.rate(raw.steadyRate), raw.records, raw.totalSeconds))
            }
            if let skipped = result.skipped {
                say("  (b) end to end                      skipped: \(skipped)")
            }
            if let e2e = result.endToEnd, let raw = result.raw {
                let ratio = e2e.rate.steadyRate / raw.steadyRate
                let target = Target.endToEndRatio(result.shape)
                let met = ratio >= target
                allMet = allMet && met
                say(String(format: "  (b) certyo-cdc end to end           %@ steady (%d records in %.1f s, %d bulk calls)",
                           Self.rate(e2e.rate.steadyRate), e2e.rate.records, e2e.rate.totalSeconds, e2e.sinkRequests))
                say(String(format: "      b / a = %.0f%%   target >= %.0f%%   %@", ratio * 100, target * 100, verdict(met)))
                let rssMB = Double(e2e.peakRSSBytes) / 1_048_576
                let rssMet = e2e.peakRSSBytes <= Target.peakRSSBytes
                if result.shape == .schemaless { allMet = allMet && rssMet }
                say(String(format: "  (d) certyo-cdc peak RSS (VmHWM)     %.0f MB   target <= 150 MB%@   %@", rssMB,
                           result.shape == .schemaless ? "" : " (set for the ~1 kB 1 M backlog)", verdict(rssMet)))
                if let latency = e2e.latency {
                    let bound = Double(lingerMs) / 1000 + Target.latencyMarginSeconds
                    let met = latency.p99 <= bound
                    allMet = allMet && met
                    say(String(format: "  commit latency at %d/s (%.0f/s achieved, %d records): p50 %.0f ms, p99 %.0f ms, max %.0f ms",
                               latency.targetRate, latency.achievedRate, latency.records, latency.p50 * 1000,
                               latency.p99 * 1000, latency.max * 1000))
                    say(String(format: "      p99 target <= linger + 100 ms = %.0f ms   %@", bound * 1000, verdict(met)))
                }
            }
            if let decode = result.decode {
                let target = Target.decodeRate(result.shape)
                let met = decode.recordsPerCPUSecond >= target
                allMet = allMet && met
                say(String(format: "  (c) decode + canonicalise + encode  %@ on one core (%.2f µs/record; %d records)",
                           Self.rate(decode.recordsPerCPUSecond), decode.cpuSeconds / Double(decode.records) * 1e6,
                           decode.records))
                say(String(format: "      target >= %@   %@", Self.rate(target), verdict(met)))
                if let e2e = result.endToEnd {
                    say(String(format: "      (b) / (c) = %.0f%%: the share of one core's decode rate the pipeline delivers",
                               e2e.rate.steadyRate / decode.recordsPerCPUSecond * 100))
                }
            }
            say()
        }
        say(quick ? "quick mode: small counts, targets shown but not judged" : (allMet ? "every target met" : "some targets missed (see README, \"Performance\")"))
        return allMet
    }
}
