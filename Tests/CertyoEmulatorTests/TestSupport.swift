import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing

@testable import CertyoEmulator

/// The key and tenant every test uses, plus a second tenant for tenancy tests.
enum TestKeys {
    static let acme = "cty_acmeacmeacmeacme0001"
    static let acmeTenant = "acme-corp"
    static let globex = "cty_globexglobexglobex02"
    static let globexTenant = "globex"
}

extension EmulatorConfiguration {
    /// Two tenants, timers far in the future unless a test shortens them.
    static func forTests(
        accumulateInterval: Duration = .seconds(3600),
        accumulateSize: Int = 1000,
        anchorDelay: Duration = .seconds(3600),
        seed: UInt64 = 42
    ) -> EmulatorConfiguration {
        var configuration = EmulatorConfiguration()
        configuration.apiKeys = [TestKeys.acme: TestKeys.acmeTenant, TestKeys.globex: TestKeys.globexTenant]
        configuration.accumulateInterval = accumulateInterval
        configuration.accumulateSize = accumulateSize
        configuration.anchorDelay = anchorDelay
        configuration.seed = seed
        return configuration
    }
}

/// A response read whole.
struct TestResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a Foundation JSON object (tests read responses with Foundation, not the emulator's parser).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
    var errorDetails: [[String: Any]] { (json["error"] as? [String: Any])?["details"] as? [[String: Any]] ?? [] }
}

let testLogger: Logger = {
    var logger = Logger(label: "emulator-tests")
    logger.logLevel = .critical
    return logger
}()

/// Sends one request over a real socket.
func send(
    _ emulator: RunningEmulator,
    _ method: HTTPMethod,
    _ path: String,
    key: String? = TestKeys.acme,
    body: [UInt8]? = nil,
    headers extra: [(String, String)] = [],
    client: HTTPClient = .shared,
    timeout: TimeAmount = .seconds(30)
) async throws -> TestResponse {
    var request = HTTPClientRequest(url: emulator.baseURL + path)
    request.method = method
    if let key { request.headers.add(name: "X-API-Key", value: key) }
    request.headers.add(name: "Content-Type", value: "application/json")
    for (name, value) in extra { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await client.execute(request, timeout: timeout)
    let buffer = try await response.body.collect(upTo: 64 << 20)
    return TestResponse(status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
}

func send(
    _ emulator: RunningEmulator,
    _ method: HTTPMethod,
    _ path: String,
    key: String? = TestKeys.acme,
    json: String,
    client: HTTPClient = .shared,
    timeout: TimeAmount = .seconds(30)
) async throws -> TestResponse {
    try await send(emulator, method, path, key: key, body: Array(json.utf8), client: client, timeout: timeout)
}

/// A record as JSON text; `payload` is JSON text too.
func recordJSON(
    tenant: String = TestKeys.acmeTenant,
    database: String = "productdb",
    collection: String = "public.products",
    id: String,
    payload: String,
    key: String? = nil,
    extra: String = ""
) -> String {
    var text = #"{"tenantId":"\#(tenant)","database":"\#(database)","collection":"\#(collection)","recordId":"\#(id)","#
    text += #""recordPayload":\#(payload),"operationType":"upsert""#
    if let key { text += #","idempotencyKey":"\#(key)""# }
    return text + extra + "}"
}

func bulkJSON(tenant: String = TestKeys.acmeTenant, records: [String]) -> String {
    #"{"tenantId":"\#(tenant)","records":["# + records.joined(separator: ",") + "]}"
}

/// `sha256:` + hex of SHA-256 of the given canonical text: the hash a correct emulator must answer.
func expectedHash(ofCanonical text: String) -> String {
    "sha256:" + SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
}

func rawHash(_ text: String) -> [UInt8] {
    precondition(text.hasPrefix("sha256:"))
    let hex = Array(text.utf8.dropFirst(7))
    var out: [UInt8] = []
    var position = 0
    while position < hex.count {
        out.append(UInt8(String(decoding: hex[position..<position + 2], as: UTF8.self), radix: 16)!)
        position += 2
    }
    return out
}

/// Posts verify until `done` holds or the deadline passes; returns the last response.
func pollVerify(
    _ emulator: RunningEmulator,
    id: String,
    collection: String = "public.products",
    deadline: Duration = .seconds(60),
    until done: (TestResponse) -> Bool
) async throws -> TestResponse {
    let body = #"{"tenantId":"acme-corp","database":"productdb","collection":"\#(collection)","recordId":"\#(id)"}"#
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while true {
        let response = try await send(emulator, .POST, "/api/v1/verify/record", json: body)
        if done(response) || clock.now >= end { return response }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Recomputes a Merkle root from a record hash and its proof, independently of the emulator's code.
func rootFromProof(recordHash: String, proof: [[String: Any]]) -> String? {
    var current = rawHash(recordHash)
    for step in proof {
        guard let position = step["position"] as? String, let hash = step["hash"] as? String else { return nil }
        let sibling = rawHash(hash)
        switch position {
        case "left": current = Array(SHA256.hash(data: sibling + current))
        case "right": current = Array(SHA256.hash(data: current + sibling))
        default: return nil
        }
    }
    return "sha256:" + current.map { String(format: "%02x", $0) }.joined()
}

/// The root of the Part B tree over these leaves, built here without the emulator's code.
func independentRoot(_ leaves: [[UInt8]]) -> [UInt8] {
    var level = leaves
    while level.count > 1 {
        var next: [[UInt8]] = []
        for start in stride(from: 0, to: level.count, by: 2) {
            let left = level[start]
            let right = start + 1 < level.count ? level[start + 1] : left
            next.append(Array(SHA256.hash(data: left + right)))
        }
        level = next
    }
    return level[0]
}
