// Plain BSD sockets on 127.0.0.1 for the lab's own processes: the load generator and the
// `threads` server. Nothing here knows a runtime: blocking calls block the calling pthread.
// Every call goes through SystemCall (EINTR retried, failures named).
#if canImport(Glibc)
import Glibc
#endif
import TimesliceHost

enum LoopbackSocket {
    /// A listening socket on 127.0.0.1:`port` (0 = the kernel picks), and its port.
    static func listen(port: UInt16 = 0, backlog: Int32 = 4096) throws -> (fd: Int32, port: UInt16) {
        let fd = try SystemCall.retrying("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            var one: Int32 = 1
            try SystemCall.retrying("setsockopt(SO_REUSEADDR)") {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            var address = loopback(port: port)
            try SystemCall.retrying("bind") {
                withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
            try SystemCall.retrying("listen") { Glibc.listen(fd, backlog) }
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            try SystemCall.retrying("getsockname") {
                withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getsockname(fd, $0, &length) } }
            }
            return (fd, UInt16(bigEndian: bound.sin_port))
        } catch {
            close(fd)
            throw error
        }
    }

    /// A port that was free a moment ago, for a server in another process (the Go program)
    /// that must be told its port. The generator retries refused connections meanwhile.
    static func freePort() throws -> UInt16 {
        let (fd, port) = try listen(port: 0, backlog: 1)
        close(fd)
        return port
    }

    /// Accepts one connection with TCP_NODELAY set; throws when the listener is shut down.
    static func accept(_ listener: Int32) throws -> Int32 {
        let fd = try SystemCall.retrying("accept") { Glibc.accept(listener, nil, nil) }
        // Glibc's module has no accept4; a child spawned in between would only hold a copy.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        setNoDelay(fd)
        return fd
    }

    /// Connects to 127.0.0.1:`port`, retrying a refused connection until `deadline`
    /// (CLOCK_MONOTONIC ns): the server may still be starting.
    static func connect(port: UInt16, deadline: UInt64) throws -> Int32 {
        while true {
            let fd = try SystemCall.retrying("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
            var address = loopback(port: port)
            let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if rc == 0 {
                setNoDelay(fd)
                return fd
            }
            let e = errno
            close(fd)
            guard e == ECONNREFUSED || e == EINTR || e == EAGAIN, MonotonicClock.now() < deadline else {
                throw HostSyscallError(call: "connect", errno: e, detail: "127.0.0.1:\(port)")
            }
            usleep(5_000)
        }
    }

    static func setNonBlocking(_ fd: Int32) throws {
        let flags = try SystemCall.retrying("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
        try SystemCall.retrying("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Small messages go out at once (no Nagle delay); failure only costs latency.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads exactly `buffer.count` bytes from a blocking socket; false at end of stream (a
    /// peer that closed between messages), an error for a message cut short.
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) throws -> Bool {
        var filled = 0
        while filled < buffer.count {
            let n = try SystemCall.retrying("read") { read(fd, buffer.baseAddress! + filled, buffer.count - filled) }
            if n == 0 {
                if filled == 0 { return false }
                throw HostSyscallError(call: "read", errno: ECONNRESET, detail: "end of stream inside a message")
            }
            filled += n
        }
        return true
    }

    /// Writes every byte to a blocking socket.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            done += try SystemCall.retrying("write") { write(fd, bytes.baseAddress! + done, bytes.count - done) }
        }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return a
    }
}
