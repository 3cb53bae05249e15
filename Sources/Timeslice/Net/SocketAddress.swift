// Numeric socket addresses: "127.0.0.1", "::1" (and "localhost", the loopback
// the tests and the lab use). No name resolution: getaddrinfo blocks its thread
// and has no non-blocking form; resolve names before calling.
import CTimeslice
import Glibc

struct SocketAddress {
    /// sockaddr_in or sockaddr_in6 bytes.
    var storage = [UInt8](repeating: 0, count: 128)
    var length: UInt32 = 0
    var isIPv6 = false
    /// "host:port", "[v6]:port": how errors name it.
    let text: String
    /// What it was made from (UDPSocket.send reuses it while they stay the same).
    let host: String
    let port: UInt16

    init(host: String, port: UInt16, call: String) throws {
        self.host = host
        self.port = port
        let numeric = host == "localhost" ? "127.0.0.1" : host
        text = SocketAddress.format(host: numeric, port: port)
        var ipv6: Int32 = 0
        var length: UInt32 = 0
        let rc = storage.withUnsafeMutableBytes { ts_socket_address(numeric, port, $0.baseAddress, &length, &ipv6) }
        if rc != 0 {
            throw NetError(kind: .other, call: call, address: text + " (not a numeric IPv4 or IPv6 address)", errno: rc)
        }
        self.length = length
        isIPv6 = ipv6 != 0
    }

    static func format(host: String, port: UInt16) -> String {
        // On the UTF-8 view: String.contains(_: String) is Foundation's (through
        // NSString), a visible cost per datagram in UDPSocket.receive.
        host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The port and "host:port" of sockaddr bytes (a datagram's sender).
    static func name(of address: UnsafeRawPointer) -> String? {
        var port: UInt16 = 0
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { text in
            guard ts_socket_address_text(address, &port, text.baseAddress, text.count) == 0 else { return nil }
            return format(host: String(cString: text.baseAddress!), port: port)
        }
    }

    /// The local (getsockname) or peer (getpeername) port and "host:port" of `fd`.
    static func name(of fd: Int32, local: Bool) -> (port: UInt16, text: String)? {
        var port: UInt16 = 0
        var text = [CChar](repeating: 0, count: 64)
        let rc = ts_socket_name(fd, local ? 1 : 0, &port, &text, text.count)
        guard rc == 0 else { return nil }
        return (port, format(host: String(cString: text), port: port))
    }
}

/// The "host:port" of a datagram's sender, formatted only when the sender differs
/// from the last one (UDPSocket.receive: a run of datagrams from one peer, the
/// common case, formats its address once). Its owner serializes the calls.
struct SenderNameCache {
    /// sockaddr_storage-sized: recvfrom writes the sender into `incoming`; the
    /// last sender's bytes are kept in `last`.
    private var incoming = [UInt8](repeating: 0, count: 128)
    private var last = [UInt8](repeating: 0, count: 128)
    private var lastLength = 0
    private var lastText = ""

    /// Runs `receive` with room for the sender's address (its capacity in, its
    /// length out), then names the sender it wrote.
    mutating func receive(_ receive: (UnsafeMutableRawPointer, inout UInt32) throws -> Void) rethrows -> String {
        var length = UInt32(incoming.count)
        try incoming.withUnsafeMutableBytes { try receive($0.baseAddress!, &length) }
        let count = Int(length)
        let same = count == lastLength && incoming.withUnsafeBytes { now in
            last.withUnsafeBytes { memcmp(now.baseAddress!, $0.baseAddress!, count) == 0 }
        }
        if !same {
            lastText = incoming.withUnsafeBytes { SocketAddress.name(of: $0.baseAddress!) } ?? ""
            swap(&incoming, &last)
            lastLength = count
        }
        return lastText
    }
}
