// A listening TCP socket whose accept parks the goroutine (Go's net.TCPListener).
import CTimeslice
import Glibc

public final class TCPListener: @unchecked Sendable {
    let socket: Socket
    /// The bound port (useful with port 0).
    public let port: UInt16

    /// Binds and listens (SO_REUSEADDR, non-blocking, close-on-exec). Call from a goroutine.
    public static func listen(host: String = "127.0.0.1", port: UInt16 = 0, backlog: Int32 = 4096) throws -> TCPListener {
        let netpoller = Socket.currentNetpoller("TCPListener.listen")
        let address = try SocketAddress(host: host, port: port, call: "listen")
        let fd = try Socket.open(for: address, datagram: false, "listen") { fd in
            address.storage.withUnsafeBytes { ts_tcp_bind_listen(fd, $0.baseAddress, address.length, backlog) }
        }
        let bound = SocketAddress.name(of: fd, local: true)
        let socket = try Socket(fd: fd, address: bound?.text ?? address.text, netpoller: netpoller)
        return TCPListener(socket: socket, port: bound?.port ?? port)
    }

    private init(socket: Socket, port: UInt16) {
        self.socket = socket
        self.port = port
    }

    /// Parks the goroutine until a connection arrives. Throws .closed once the
    /// listener is closed (also when closed while parked here).
    public func accept() throws -> TCPConnection {
        Socket.requireGoroutine("TCPListener.accept")
        let fd: Int32 = try socket.using("accept") {
            try socket.readLock.withLock {
                var connection: Int32 = -1
                try socket.retryOnEAGAIN(.read, "accept") { ts_tcp_accept(socket.fd, &connection) }
                return connection
            }
        }
        let peer = SocketAddress.name(of: fd, local: false)?.text ?? ""
        return try TCPConnection(socket: Socket(fd: fd, address: peer, netpoller: socket.netpoller))
    }

    /// Closes the listener; a parked accept wakes with NetError(kind: .closed). Idempotent.
    public func close() { socket.close() }

    public var fileDescriptor: Int32 { socket.fd }
}
