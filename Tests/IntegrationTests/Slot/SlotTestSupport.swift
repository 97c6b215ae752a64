import CertyoCDC
import Foundation
import Logging
import Metrics
import PostgresBridge
import Prometheus
import ServiceLifecycle
import Synchronization

/// A `LogHandler` that keeps every line and lets a test await the first line matching a condition.
final class LineRecorder: Sendable {
    private struct State {
        var lines: [String] = []
        var waiters: [(id: UInt64, predicate: @Sendable (String) -> Bool, continuation: CheckedContinuation<String, Never>)] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    var lines: [String] { state.withLock { $0.lines } }

    /// How many lines were logged so far: a mark for ``first(from:where:)``.
    var count: Int { state.withLock { $0.lines.count } }

    /// The next reading of the slot logged from now on (`slot read: ...`).
    func nextReading(where predicate: @escaping @Sendable (String) -> Bool = { _ in true }) async -> String {
        await first(from: count) { $0.contains("slot read: ") && predicate($0) }
    }

    /// A logger at `trace` level writing into this recorder: `<level> <message> <metadata>`.
    var logger: Logger {
        Logger(label: "certyo-cdc.tests.slot") { _ in Handler(recorder: self) }
    }

    func append(_ line: String) {
        let ready = state.withLock { state -> [CheckedContinuation<String, Never>] in
            state.lines.append(line)
            var ready: [CheckedContinuation<String, Never>] = []
            state.waiters.removeAll { waiter in
                guard waiter.predicate(line) else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume(returning: line) }
    }

    /// Returns the first line (already logged or to come) that satisfies `predicate`. Bound it with the test's
    /// `.timeLimit`.
    /// - Parameter index: Lines before this position (``count`` earlier) are not considered.
    func first(from index: Int = 0, where predicate: @escaping @Sendable (String) -> Bool) async -> String {
        await withCheckedContinuation { continuation in
            let found = state.withLock { state -> String? in
                if let line = state.lines.dropFirst(index).first(where: predicate) { return line }
                state.nextID += 1
                state.waiters.append((state.nextID, predicate, continuation))
                return nil
            }
            if let found { continuation.resume(returning: found) }
        }
    }

    /// The first line that is the alert `event` (the message starts with `event slot=`).
    func alert(_ event: String) async -> String {
        await first { Self.event(of: $0) == event }
    }

    /// The alert events logged so far, in order.
    var events: [String] { lines.compactMap(Self.event(of:)) }

    /// The event name of an alert line (`<level> <event> slot=...`), or `nil`.
    static func event(of line: String) -> String? {
        let words = line.split(separator: " ", maxSplits: 3)
        guard words.count >= 3, words[2].hasPrefix("slot="), words[1].hasPrefix("slot_") else { return nil }
        return String(words[1])
    }

    private struct Handler: LogHandler {
        let recorder: LineRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorder.append("\(event.level) \(event.message) \(merged)")
        }
    }
}

/// A Prometheus registry the sidecar records into, read back as the exposition text `/metrics` would serve.
struct MetricsProbe {
    let registry = PrometheusCollectorRegistry()
    var factory: any MetricsFactory { PrometheusMetricsFactory(registry: registry) }

    /// The value of the sample `name{labels}` (labels written as Prometheus does, e.g. `slot="s"`).
    func value(_ name: String, _ labels: String) -> Double? {
        let prefix = "\(name){\(labels)} "
        for line in registry.emitToString().split(separator: "\n") where line.hasPrefix(prefix) {
            return Double(line.dropFirst(prefix.count))
        }
        return nil
    }
}

enum SlotTestSupport {
    /// A slot name no other test uses.
    static func uniqueSlotName() -> String {
        "certyo_test_slot_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }

    /// Runs `monitor` in a `ServiceGroup` while `body` runs, then shuts the group down gracefully. Returns whether
    /// the monitor was still running when `body` finished (it must never stop on its own).
    static func running<Result: Sendable>(
        _ monitor: SlotMonitor,
        _ body: () async throws -> Result
    ) async throws -> (result: Result, wasRunning: Bool) {
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: monitor)], gracefulShutdownSignals: [],
            logger: Logger(label: "certyo-cdc.tests.slot.group")))
        let finished = Flag()
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                try await group.run()
                finished.set()
            }
            do {
                let result = try await body()
                let wasRunning = !finished.isSet
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return (result, wasRunning)
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// Runs `scripts/test-postgres.sh <command>` for a throwaway cluster in `home` on `port`; returns its output.
    @discardableResult
    static func testPostgres(_ command: String, home: String, port: Int) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = root.appendingPathComponent("scripts/test-postgres.sh")
        process.arguments = [command]
        var environment = ProcessInfo.processInfo.environment
        environment["CDC_PG_HOME"] = home
        environment["CDC_POSTGRES_PORT"] = String(port)
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ScriptError(message: "test-postgres.sh \(command) failed: \(text)")
        }
        return text
    }

    /// Set once, read from any task.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .acquiring) }
        func set() { value.store(true, ordering: .releasing) }
    }

    struct ScriptError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
