// The load generator's view of its connections: which have a response (or an error) to read.
// An epoll instance with every connection registered once, level-triggered for input, tagged
// with its connection number: one system call per look however many connections there are
// (poll(2) walks all of them on every call, which the spinning generator makes a lot of).
// Owned by one thread at a time (the capacity probe, then the receiver or the spinning loop).
#if canImport(Glibc)
import Glibc
#endif
import CTimeslice
import TimesliceHost

final class ResponsePoller {
    private let epfd: Int32
    private var events = [ts_poll_event](repeating: ts_poll_event(), count: 128)

    init(sockets: [Int32]) throws {
        var fd: Int32 = -1
        let created = ts_epoll_create(&fd)
        guard created == 0 else { throw HostSyscallError(call: "epoll_create1", errno: created, detail: "load generator") }
        epfd = fd
        for (i, socket) in sockets.enumerated() {
            let e = ts_epoll_register(epfd, socket, UInt64(i), 0)
            guard e == 0 else {
                close(epfd)
                throw HostSyscallError(call: "epoll_ctl", errno: e, detail: "connection \(i)")
            }
        }
    }

    deinit { close(epfd) }

    /// The connections with something to read, waiting up to `timeoutNanoseconds` (0: just
    /// look). At most 128 per call; the rest stay ready for the next (level-triggered).
    func ready(timeoutNanoseconds: Int64) throws -> [Int] {
        var count: Int32 = 0
        let e = events.withUnsafeMutableBufferPointer { ts_epoll_wait(epfd, $0.baseAddress, Int32($0.count), timeoutNanoseconds, &count) }
        guard e == 0 else { throw HostSyscallError(call: "epoll_wait", errno: e, detail: "load generator") }
        return (0..<Int(count)).map { Int(events[$0].tag) }
    }
}
