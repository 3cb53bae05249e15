// The one error type of goroutine sockets: what failed (kind), in which call,
// on which address, with the system's errno (0 when the runtime itself decided:
// closed, end of file). Its description reads like Go's net.OpError:
//   connect: connection refused (127.0.0.1:9)
import Glibc

public struct NetError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Equatable, Sendable {
        case refused        // ECONNREFUSED
        case timedOut       // a deadline passed (or ETIMEDOUT)
        case closed         // the socket was closed (by this process)
        case endOfFile      // the peer closed before the bytes asked for arrived
        case reset          // ECONNRESET, EPIPE
        case addressInUse   // EADDRINUSE
        case other
    }

    public let kind: Kind
    public let call: String
    public let address: String
    public let errno: Int32

    public init(kind: Kind, call: String, address: String, errno: Int32) {
        self.kind = kind
        self.call = call
        self.address = address
        self.errno = errno
    }

    /// A failed system call: the kind follows from the errno.
    init(call: String, address: String, errno code: Int32) {
        let kind: Kind
        switch code {
        case ECONNREFUSED: kind = .refused
        case ETIMEDOUT: kind = .timedOut
        case ECONNRESET, EPIPE: kind = .reset
        case EADDRINUSE: kind = .addressInUse
        default: kind = .other
        }
        self.init(kind: kind, call: call, address: address, errno: code)
    }

    static func closed(_ call: String, _ address: String) -> NetError {
        NetError(kind: .closed, call: call, address: address, errno: 0)
    }

    static func timedOut(_ call: String, _ address: String) -> NetError {
        NetError(kind: .timedOut, call: call, address: address, errno: ETIMEDOUT)
    }

    public var description: String {
        let what: String
        switch kind {
        case .closed: what = "use of closed network connection"
        case .endOfFile: what = "unexpected end of file"
        case .timedOut: what = "i/o timeout"
        default: what = String(cString: strerror(errno)).lowercased()
        }
        return address.isEmpty ? "\(call): \(what)" : "\(call): \(what) (\(address))"
    }
}
