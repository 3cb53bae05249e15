// A UDP socket whose receive and send park the goroutine instead of blocking
// its thread (Go's net.UDPConn). Registered with the netpoller like the TCP
// sockets (Socket.swift: edge-triggered, once, one parked reader and one
// parked writer at most).
//
// Datagrams, not a stream: one receive takes one datagram, one send sends one
// whole (or fails). A datagram longer than the receive buffer is cut to the
// buffer and the rest discarded by the kernel; receive then returns the
// datagram's whole length (MSG_TRUNC), so `count > buffer.count` says so.
//
// ICMP errors (port unreachable): Linux reports them only on a connected socket
// (UDPSocket.connect), as ECONNREFUSED (.refused) from its next receive or send.
// A bound, unconnected socket never sees them: its sends to a closed port
// succeed and its receive goes on waiting (the kernel drops the error unless
// IP_RECVERR is set, which this type does not do).
import CTimeslice
import Glibc

public final class UDPSocket: @unchecked Sendable {
    let socket: Socket
    /// The bound local port (the kernel's pick with port 0).
    public let localPort: UInt16
    /// The last sendto destination, parsed once for a run of sends to it. Only
    /// touched under `socket.writeLock`.
    @exclusivity(unchecked) private var lastDestination: SocketAddress?
    /// The last datagram's sender as text. Only touched under `socket.readLock`.
    @exclusivity(unchecked) private var senderNames = SenderNameCache()

    private init(socket: Socket, localPort: UInt16) {
        self.socket = socket
        self.localPort = localPort
    }

    /// Binds a socket to host:port (non-blocking, close-on-exec, no
    /// SO_REUSEADDR: a port in use throws .addressInUse). Call from a goroutine.
    public static func bind(host: String = "127.0.0.1", port: UInt16 = 0) throws -> UDPSocket {
        try open("UDPSocket.bind", "bind", host: host, port: port, namedByPeer: false) { fd, address in
            address.storage.withUnsafeBytes { ts_socket_bind(fd, $0.baseAddress, address.length) }
        }
    }

    /// A socket connected to host:port (Go's DialUDP), bound to a port the kernel
    /// picks: it receives only from that peer, and an ICMP port unreachable for
    /// what it sent fails its next receive or send with .refused. No handshake:
    /// nothing is sent and nothing parks. Call from a goroutine.
    public static func connect(host: String, port: UInt16) throws -> UDPSocket {
        try open("UDPSocket.connect", "connect", host: host, port: port, namedByPeer: true) { fd, address in
            address.storage.withUnsafeBytes { ts_socket_connect(fd, $0.baseAddress, address.length) }
        }
    }

    /// A registered UDP socket after `setup` (bind or connect). Its errors name
    /// the peer (`namedByPeer`) or the bound address.
    private static func open(_ api: StaticString, _ call: String, host: String, port: UInt16, namedByPeer: Bool,
                             setup: (Int32, SocketAddress) -> Int32) throws -> UDPSocket {
        let netpoller = Socket.currentNetpoller(api)
        let address = try SocketAddress(host: host, port: port, call: call)
        let fd = try Socket.open(for: address, datagram: true, call) { setup($0, address) }
        let local = SocketAddress.name(of: fd, local: true)
        let name = namedByPeer ? address.text : local?.text ?? address.text
        return UDPSocket(socket: try Socket(fd: fd, address: name, netpoller: netpoller), localPort: local?.port ?? port)
    }

    /// Parks until a datagram arrives; returns its length and its sender,
    /// "host:port" ("[v6]:port"). The buffer gets the datagram's first
    /// `buffer.count` bytes; `count` is its whole length, so `count > buffer.count`
    /// means it was truncated (the rest is lost). Datagrams may be empty (count 0).
    /// Throws .timedOut after the read deadline, .closed, .refused (connected
    /// sockets only, see the file comment), naming the call "recvfrom".
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> (count: Int, from: String) {
        Socket.requireGoroutine("UDPSocket.receive")
        return try socket.using("recvfrom") {
            try socket.readLock.withLock {
                var count = 0
                let from = try senderNames.receive { sender, senderLength in
                    try socket.retryOnEAGAIN(.read, "recvfrom") {
                        ts_udp_receive(socket.fd, buffer.baseAddress, buffer.count, &count, sender, &senderLength)
                    }
                }
                return (count, from)
            }
        }
    }

    /// Sends `bytes` as one datagram to host:port, parking while the send buffer
    /// is full. Errors name the call "sendto" and the destination: .timedOut
    /// after the write deadline, .closed, .refused (connected sockets only),
    /// .other with EMSGSIZE for a datagram too long for UDP.
    public func send(_ bytes: UnsafeRawBufferPointer, to host: String, port: UInt16) throws {
        Socket.requireGoroutine("UDPSocket.send")
        try socket.using("sendto") {
            try socket.writeLock.withLock {
                let destination: SocketAddress
                if let last = lastDestination, last.port == port, last.host == host {
                    destination = last
                } else {
                    destination = try SocketAddress(host: host, port: port, call: "sendto")
                    lastDestination = destination
                }
                try socket.retryOnEAGAIN(.write, "sendto", naming: destination.text) {
                    destination.storage.withUnsafeBytes {
                        ts_udp_send(socket.fd, bytes.baseAddress, bytes.count, $0.baseAddress, destination.length)
                    }
                }
            }
        }
    }

    /// Receives fail with .timedOut once `deadline` passes (nil clears it). May be
    /// moved, later or earlier, while a receive is parked.
    public func setReadDeadline(_ deadline: ContinuousClock.Instant?) { socket.setDeadline(.read, deadline) }

    /// Sends fail with .timedOut once `deadline` passes (nil clears it).
    public func setWriteDeadline(_ deadline: ContinuousClock.Instant?) { socket.setDeadline(.write, deadline) }

    /// Closes; a parked receive or send wakes with .closed. Idempotent, any thread.
    public func close() { socket.close() }

    public var fileDescriptor: Int32 { socket.fd }
}
