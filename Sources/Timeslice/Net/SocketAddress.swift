// Numeric socket addresses: "127.0.0.1", "::1" (and "localhost", the loopback
// the tests and the lab use). No name resolution: getaddrinfo blocks its thread
// and has no non-blocking form; resolve names before calling.
import CTimeslice

struct SocketAddress {
    /// sockaddr_in or sockaddr_in6 bytes.
    var storage = [UInt8](repeating: 0, count: 128)
    var length: UInt32 = 0
    var isIPv6 = false
    /// "host:port", "[v6]:port": how errors name it.
    let text: String

    init(host: String, port: UInt16, call: String) throws {
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
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
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
