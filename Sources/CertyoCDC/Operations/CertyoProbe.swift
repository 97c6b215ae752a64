import CertyoClient
import Logging
import ServiceLifecycle

/// Asks Certyo whether it accepts the key, so a fresh instance with a bad key is not ready before any record arrives,
/// and an idle one notices when a refused key works again.
///
/// The probe is a harmless authenticated read: `GET /api/v1/records` for a record id no table can produce
/// (`limit=1`). It runs at start and then every ``interval`` while Certyo is not known to accept the key; once it
/// does, the pipeline's own calls keep ``Readiness`` up to date and the probe stays quiet.
public struct CertyoProbe: Service {
    private let client: CertyoClient
    private let readiness: Readiness
    private let interval: Duration
    private let reloadCredentials: @Sendable () async -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - client: The client the pipeline uses (same key, same tenant).
    ///   - readiness: Where the answer goes.
    ///   - interval: The pause between probes while the key is not known to work. Default: 30 s.
    ///   - reloadCredentials: Called before probing again while the key is refused (re-reads a key file).
    ///   - logger: Receives one line per change of what the probe found.
    public init(
        client: CertyoClient,
        readiness: Readiness,
        interval: Duration = .seconds(30),
        reloadCredentials: @escaping @Sendable () async -> Void = {},
        logger: Logger
    ) {
        self.client = client
        self.readiness = readiness
        self.interval = interval
        self.reloadCredentials = reloadCredentials
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var last: Readiness.CertyoState?
            while !Task.isCancelled {
                let current = readiness.snapshot.certyo
                if current != .accepted {
                    if current == .unauthorised { await reloadCredentials() }
                    let outcome = await probe()
                    outcome.apply(to: readiness)
                    if let state = outcome.state, state != last {
                        report(state, label: outcome.label)
                        last = state
                    }
                } else {
                    last = .accepted
                }
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }

    /// One probe call.
    func probe() async -> CertyoOutcome {
        do {
            _ = try await client.records(
                database: "certyo-cdc", collection: "certyo_cdc.readiness_probe", recordId: "probe", limit: 1
            )
            return CertyoOutcome(label: "200", state: .accepted)
        } catch let error as CertyoError where error.code == .notFound {
            return CertyoOutcome(label: "404", state: .accepted)
        } catch {
            return CertyoOutcome(error)
        }
    }

    private func report(_ state: Readiness.CertyoState, label: String) {
        switch state {
        case .accepted:
            logger.info("certyo_probe: Certyo accepts the API key and tenant")
        case .unauthorised:
            let fix = "Fix CERTYO_API_KEY / CERTYO_API_KEY_FILE or CERTYO_TENANT_ID"
            logger.error("certyo_probe: Certyo refuses the API key or tenant (\(label)); not ready. \(fix)")
        case .unreachable:
            logger.warning(
                "certyo_probe: Certyo is unreachable (\(label)); not ready. Check CERTYO_BASE_URL and the network"
            )
        case .unknown:
            break
        }
    }
}
