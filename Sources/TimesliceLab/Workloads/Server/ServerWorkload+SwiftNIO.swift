// The server on SwiftNIO, as a Swift server engineer would write it: a
// MultiThreadedEventLoopGroup with one event loop per server CPU (ServerCPUs' n; the group is
// created from a thread confined to those CPUs, so its loops inherit the mask), a ByteToMessageDecoder for
// the 16-byte framing and a handler that serves the request inline. The 500 µs of work runs
// ON the event loop, as a naive server's would (no offloading to a thread pool): every other
// connection of that loop waits behind it, which is exactly what this row shows.
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

extension ServerWorkload {
    func runSwiftNIO(_ context: WorkloadContext) throws -> WorkloadResult {
        try serve(context) { work, progress, cpus in try Self.startSwiftNIO(work: work, progress: progress, cpus: cpus) }
    }

    static func startSwiftNIO(work: CPUWork, progress: ProgressBeacon, cpus: ServerCPUs) throws -> RunningServer {
        // The loops' threads are created by (and inherit the mask of) the thread calling init.
        var created: MultiThreadedEventLoopGroup?
        try cpus.startConfinedThread(name: "nio-start") {
            created = MultiThreadedEventLoopGroup(numberOfThreads: cpus.count)
        }.join()
        let group = created!
        let channel: Channel
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 4096)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ServerMessageDecoder()))
                        try channel.pipeline.syncOperations.addHandler(ServerNIOHandler(work: work, progress: progress))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        guard let port = channel.localAddress?.port else {
            try? group.syncShutdownGracefully()
            throw WorkloadFailure("swift-nio: the server channel has no local port")
        }
        return RunningServer(port: UInt16(port), pid: { getpid() }) {
            try? channel.close().wait()
            try group.syncShutdownGracefully()
        }
    }
}

/// 16 bytes in, one ServerMessage out.
struct ServerMessageDecoder: ByteToMessageDecoder {
    typealias InboundOut = ServerMessage

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= ServerMessage.size else { return .needMoreData }
        let message = buffer.withUnsafeReadableBytes { ServerMessage(decoding: $0) }
        buffer.moveReaderIndex(forwardBy: ServerMessage.size)
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }
}

/// Serves each request on the event loop and writes the response.
final class ServerNIOHandler: ChannelInboundHandler {
    typealias InboundIn = ServerMessage
    typealias OutboundOut = ByteBuffer

    private let work: CPUWork
    private let progress: ProgressBeacon

    init(work: CPUWork, progress: ProgressBeacon) {
        self.work = work
        self.progress = progress
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let response = ServerWorkload.handle(unwrapInboundIn(data), work: work)
        var out = context.channel.allocator.buffer(capacity: ServerMessage.size)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: ServerMessage.size) { response.encode(into: $0); return ServerMessage.size }
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        progress.beat()
    }
}
