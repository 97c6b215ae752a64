import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A Certyo stand-in that is never the bottleneck: it answers every `POST` with `202` and the shortest body
/// `CertyoClient` accepts, without parsing the request.
///
/// The client checks that the answer has one result per record with the record ids in order, so the sink copies the
/// string after each `"recordId":` in the body (a byte scan, no JSON parsing, no hashing; the benchmark's table has no
/// column named `recordId`, so the only matches are the records' own fields).
final class MinimalSink: Sendable {
    let port: Int
    private let channel: any Channel
    let counters: Counters

    final class Counters: Sendable {
        let requests = Atomic<Int>(0)
        let records = Atomic<Int>(0)
        let bytes = Atomic<Int>(0)
    }

    private init(channel: any Channel, counters: Counters) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.counters = counters
    }

    /// Starts the sink on 127.0.0.1 and a free port.
    static func start(group: any EventLoopGroup) async throws -> MinimalSink {
        let counters = Counters()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return MinimalSink(channel: channel, counters: counters)
    }

    func stop() async throws {
        try await channel.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked Sendable: touched only on its channel's event loop.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let counters: Counters
        private var body: ByteBuffer? = nil
        private var keepAlive = true

        init(counters: Counters) { self.counters = counters }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                keepAlive = head.isKeepAlive
                body = context.channel.allocator.buffer(capacity: 1 << 20)
            case .body(var part):
                body?.writeBuffer(&part)
            case .end:
                let request = body ?? ByteBuffer()
                body = nil
                respond(context: context, request: request)
            }
        }

        private static let marker = Array(#","recordId":"#.utf8)

        private func respond(context: ChannelHandlerContext, request: ByteBuffer) {
            var out = context.channel.allocator.buffer(capacity: 64 + request.readableBytes / 16)
            out.writeString(#"{"tenantId":"bench-tenant","results":["#)
            var count = 0
            request.withUnsafeReadableBytes { bytes in
                var index = 0
                let marker = Self.marker
                let limit = bytes.count - marker.count
                while index < limit {
                    // First byte check, then the rest: cheap enough for ~1 MB bodies.
                    if bytes[index] == marker[0], bytes[index + 1] == marker[1], bytes[index + 2] == marker[2],
                        (3..<marker.count).allSatisfy({ bytes[index + $0] == marker[$0] })
                    {
                        var end = index + marker.count
                        // The id is a JSON string token: copy it as it is, escapes included.
                        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { index += 1; continue }
                        let start = end
                        end += 1
                        while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                            end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
                        }
                        if count > 0 { out.writeString(",") }
                        out.writeString(#"{"recordId":"#)
                        out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start...min(end, bytes.count - 1)]))
                        out.writeString(
                            #","recordHash":"sha256:0000000000000000000000000000000000000000000000000000000000000000","idempotencyReplayed":false}"#)
                        count += 1
                        index = end
                    } else {
                        index += 1
                    }
                }
            }
            out.writeString(#"],"accepted":\#(count)}"#)
            counters.requests.add(1, ordering: .relaxed)
            counters.records.add(count, ordering: .relaxed)
            counters.bytes.add(request.readableBytes, ordering: .relaxed)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: "\(out.readableBytes)")
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .accepted, headers: headers))),
                          promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(out))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            if !keepAlive { context.close(promise: nil) }  // after the response: writes are ordered
        }
    }
}
