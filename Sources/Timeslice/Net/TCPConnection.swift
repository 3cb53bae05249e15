// A connected TCP socket whose reads and writes park the goroutine instead of
// blocking its thread (Go's net.TCPConn). TCP_NODELAY is on.
import CTimeslice
import Glibc

public final class TCPConnection: @unchecked Sendable {
    let socket: Socket
    /// The peer, "host:port".
    public let remoteAddress: String

    init(socket: Socket) {
        self.socket = socket
        remoteAddress = socket.address
    }

    /// Connects, parking the goroutine until the connection is up, refused, or
    /// `timeout` passes (.timedOut). Call from a goroutine.
    public static func connect(host: String, port: UInt16, timeout: Duration? = nil) throws -> TCPConnection {
        let netpoller = Socket.currentNetpoller("TCPConnection.connect")
        let address = try SocketAddress(host: host, port: port, call: "connect")
        let fd = try Socket.open(for: address, datagram: false, "connect")
        // Registered before connect, as Go does: the writable edge of completion
        // cannot be missed.
        let socket = try Socket(fd: fd, address: address.text, netpoller: netpoller)
        if let timeout { socket.setDeadline(.write, .now + timeout) }
        do {
            try socket.using("connect") {
                let started = address.storage.withUnsafeBytes { ts_socket_connect(fd, $0.baseAddress, address.length) }
                guard started == EINPROGRESS || started == EALREADY else {
                    if started != 0 { throw NetError(call: "connect", address: address.text, errno: started) }
                    return
                }
                // Writable means done; SO_ERROR tells how (Go's netFD.connect).
                while true {
                    try socket.park(.write, "connect")
                    var pending: Int32 = 0
                    let rc = ts_socket_error(fd, &pending)
                    if rc != 0 { throw NetError(call: "connect", address: address.text, errno: rc) }
                    // A wake-up can be stale (registration reports the unconnected
                    // socket writable): connected only once it has a peer (Go does the same).
                    if pending == 0 && SocketAddress.name(of: fd, local: false) != nil { return }
                    if pending == 0 { continue }
                    if pending == EINPROGRESS || pending == EALREADY || pending == EINTR { continue }
                    throw NetError(call: "connect", address: address.text, errno: pending)
                }
            }
        } catch {
            socket.close()
            throw error
        }
        if timeout != nil { socket.setMonotonicDeadline(.write, 0) }
        return TCPConnection(socket: socket)
    }

    /// Reads what is available, parking until something is: > 0 bytes, or 0 only
    /// at end of file. Throws .timedOut after the read deadline, .closed.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        Socket.requireGoroutine("TCPConnection.read")
        guard buffer.count > 0 else { return 0 }
        return try socket.using("read") {
            try socket.readLock.withLock {
                var count = 0
                try socket.retryOnEAGAIN(.read, "read") { ts_socket_read(socket.fd, buffer.baseAddress, buffer.count, &count) }
                return count
            }
        }
    }

    /// Reads exactly `buffer.count` bytes; throws .endOfFile if the peer closes first.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n == 0 { throw NetError(kind: .endOfFile, call: "read", address: remoteAddress, errno: 0) }
            done += n
        }
    }

    /// Writes all of `bytes`, looping over partial writes and parking while the
    /// send buffer is full. Throws .timedOut after the write deadline, .closed, .reset.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        Socket.requireGoroutine("TCPConnection.write")
        try socket.using("write") {
            try socket.writeLock.withLock {
                var done = 0
                while done < bytes.count {
                    var count = 0
                    try socket.retryOnEAGAIN(.write, "write") {
                        ts_socket_write(socket.fd, bytes.baseAddress! + done, bytes.count - done, &count)
                    }
                    done += count
                }
            }
        }
    }

    /// Reads fail with .timedOut once `deadline` passes (nil clears it). May be
    /// moved, later or earlier, while a read is parked.
    public func setReadDeadline(_ deadline: ContinuousClock.Instant?) { socket.setDeadline(.read, deadline) }

    /// Writes fail with .timedOut once `deadline` passes (nil clears it).
    public func setWriteDeadline(_ deadline: ContinuousClock.Instant?) { socket.setDeadline(.write, deadline) }

    /// Half-closes: the peer reads end of file; reading here goes on.
    public func shutdownWrite() throws {
        try socket.using("shutdown") {
            let rc = ts_socket_shutdown_write(socket.fd)
            if rc != 0 { throw NetError(call: "shutdown", address: remoteAddress, errno: rc) }
        }
    }

    /// Closes; a parked read or write wakes with .closed. Idempotent, any thread.
    public func close() { socket.close() }

    public var fileDescriptor: Int32 { socket.fd }

    /// The local port (getsockname), 0 once closed.
    public var localPort: UInt16 {
        (try? socket.using("getsockname") { SocketAddress.name(of: socket.fd, local: true)?.port ?? 0 }) ?? 0
    }
}
