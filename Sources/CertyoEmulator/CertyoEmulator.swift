import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The emulator as a `Service` (swift-service-lifecycle): it listens from `run()` until graceful shutdown.
///
/// ```swift
/// let emulator = CertyoEmulatorService(configuration: configuration, logger: logger) { port in
///     print("listening on 127.0.0.1:\(port)")
/// }
/// try await ServiceGroup(services: [emulator], logger: logger).run()
/// ```
public struct CertyoEmulatorService: Service {
    /// In-process access to this instance's state (also usable before `run()`).
    public let emulator: RunningEmulatorState
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    /// Creates the service; nothing listens until ``run()``.
    /// - Parameters:
    ///   - configuration: Address, keys, accumulator and limits.
    ///   - logger: Where Hummingbird and the emulator log. API keys are never logged.
    ///   - onListening: Called once with the bound port (the real one when the configuration says `0`).
    public init(
        configuration: EmulatorConfiguration,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.emulator = RunningEmulatorState(store: EmulatorStore(configuration: configuration))
        self.logger = logger
        self.onListening = onListening
    }

    /// Binds and serves until graceful shutdown (or cancellation).
    /// - Throws: When the address cannot be bound.
    public func run() async throws {
        let configuration = emulator.store.configuration
        let onListening = self.onListening
        let application = Application(
            responder: EmulatorResponder(store: emulator.store, logger: logger),
            server: .http1(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? configuration.port)
            },
            logger: logger
        )
        try await application.run()
    }
}

/// Runs an emulator on a real socket for the duration of `body`, then shuts it down.
///
/// - Parameters:
///   - configuration: Address (port `0` by default: a free one), keys, accumulator and limits.
///   - logger: Where the emulator logs.
///   - body: Runs once the emulator listens; its ``RunningEmulator`` gives the port and the admin state.
/// - Returns: What `body` returns.
/// - Throws: What `body` throws, or an error when the emulator cannot listen.
/// - Important: The emulator stops when `body` returns; do not keep the ``RunningEmulator`` beyond it.
public func withCertyoEmulator<T: Sendable>(
    configuration: EmulatorConfiguration = EmulatorConfiguration(),
    logger: Logger,
    _ body: (RunningEmulator) async throws -> T
) async throws -> T {
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let service = CertyoEmulatorService(configuration: configuration, logger: logger) { port in
        portContinuation.yield(port)
        portContinuation.finish()
    }
    let group = ServiceGroup(
        configuration: .init(services: [service], gracefulShutdownSignals: [], logger: logger)
    )
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            // The server stopped before it listened: surface its error.
            try await tasks.waitForAll()
            throw EmulatorStartError(host: configuration.host, port: configuration.port)
        }
        let running = RunningEmulator(host: configuration.host, port: port, state: service.emulator)
        let result: T
        do {
            result = try await body(running)
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}

/// The emulator stopped before it listened.
public struct EmulatorStartError: Error, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { "the Certyo emulator could not listen on \(host):\(port)" }
}

/// A listening emulator: where it is, and in-process access to the state its admin path exposes.
public struct RunningEmulator: Sendable {
    /// The bound port.
    public var port: Int
    /// `"http://HOST:PORT"`, the value for `CERTYO_BASE_URL`.
    public var baseURL: String
    /// The state behind the admin path.
    public let state: RunningEmulatorState

    init(host: String, port: Int, state: RunningEmulatorState) {
        self.port = port
        self.baseURL = "http://\(host):\(port)"
        self.state = state
    }

    /// Requests by status, records stored, replays, faults, batches (as `GET /__admin/counters`).
    public func counters() async -> EmulatorCounters { await state.counters() }
    /// Every API request: arrival, path, status, idempotency keys (as `GET /__admin/requests`).
    public func requestLog() async -> [LoggedRequest] { await state.requestLog() }
    /// The faults in force.
    public func faults() async -> FaultConfiguration { await state.faults() }
    /// Replaces the faults in force (as `POST /__admin/faults`).
    public func setFaults(_ faults: FaultConfiguration) async { await state.setFaults(faults) }
    /// For one tenant, each idempotency key and how many record versions were stored under it (the contract:
    /// exactly 1).
    public func storedIdempotencyKeys(tenant: String) async -> [String: Int] {
        await state.storedIdempotencyKeys(tenant: tenant)
    }
    /// Back to the start-up state (as `POST /__admin/reset`).
    public func reset() async { await state.reset() }
}

/// In-process access to one emulator's state; the same operations as the admin path.
public struct RunningEmulatorState: Sendable {
    let store: EmulatorStore

    public func counters() async -> EmulatorCounters { store.counters() }
    public func requestLog() async -> [LoggedRequest] { store.requestLog() }
    public func faults() async -> FaultConfiguration { store.faults() }
    public func setFaults(_ faults: FaultConfiguration) async { store.setFaults(faults) }
    public func storedIdempotencyKeys(tenant: String) async -> [String: Int] {
        store.storedIdempotencyKeys(tenant: tenant)
    }
    public func reset() async { store.reset() }
}
