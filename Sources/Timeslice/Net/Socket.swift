// What TCPListener, TCPConnection and UDPSocket share: a non-blocking fd
// registered with the netpoller, the Read/Write loops on EAGAIN (Go's
// internal/poll/fd_unix.go), deadlines, and close.
//
// Close while in use (Go's fdMutex, reduced to what one owner needs):
// `references` counts operations in progress, its top bit says "closed". An
// operation takes a reference (failing with .closed once the bit is set) for
// its whole duration, parked or not; close() sets the bit, wakes the parked
// operations with .closed (PollDescriptor.evict) and the last reference out
// closes the fd, so a descriptor number is never closed, and reused by another
// socket, under a read or write still using it.
// One goroutine at a time reads (accepts) and one writes: `readLock` and
// `writeLock` (ParkingMutex) queue the others, as fdMutex's rlock/wlock do, so a
// direction has at most one waiter on the poll descriptor.
import CTimeslice
import Glibc
import Synchronization

final class Socket: @unchecked Sendable {
    let fd: Int32
    let descriptor: PollDescriptor
    /// Keeps the descriptor cache alive while the socket exists.
    let netpoller: Netpoller
    /// For error messages: the peer (connections, connected UDP sockets) or the
    /// bound address (listeners, bound UDP sockets).
    let address: String
    /// Operations in progress, plus `closedBit`. Any thread, sequentially consistent.
    private let references = Atomic<UInt64>(0)
    private static let closedBit: UInt64 = 1 << 63
    let readLock = ParkingMutex()
    let writeLock = ParkingMutex()

    /// Registers `fd` (already non-blocking) with the running runtime's netpoller;
    /// closes it on failure.
    init(fd: Int32, address: String, netpoller: Netpoller) throws {
        switch netpoller.register(fd: fd) {
        case .success(let pd):
            descriptor = pd
        case .failure(let error):
            _ = ts_close(fd)
            throw error
        }
        self.fd = fd
        self.netpoller = netpoller
        self.address = address
    }

    deinit { close() }

    /// A new non-blocking, close-on-exec socket of `address`'s family (UDP when
    /// `datagram`, else TCP), passed through `setup` (bind, listen: 0 or an errno,
    /// thrown as `call`'s error naming `address`); closed again on failure.
    static func open(for address: SocketAddress, datagram: Bool, _ call: String,
                     setup: (Int32) -> Int32 = { _ in 0 }) throws -> Int32 {
        var fd: Int32 = -1
        let ipv6: Int32 = address.isIPv6 ? 1 : 0
        var rc = datagram ? ts_udp_socket(ipv6, &fd) : ts_tcp_socket(ipv6, &fd)
        if rc != 0 { throw NetError(call: "socket", address: address.text, errno: rc) }
        rc = setup(fd)
        if rc != 0 {
            _ = ts_close(fd)
            throw NetError(call: call, address: address.text, errno: rc)
        }
        return fd
    }

    /// The running goroutine's netpoller; traps outside a goroutine.
    static func currentNetpoller(_ call: StaticString) -> Netpoller {
        requireGoroutine(call)
        return Machine.current!.scheduler.netpoller
    }

    /// fatalError rather than precondition: its message survives release builds.
    static func requireGoroutine(_ call: StaticString) {
        if ts_current_g() == nil {
            fatalError("timeslice: \(call) must be called from a goroutine (inside Runtime.run, e.g. in go { })")
        }
    }

    // MARK: References and close

    /// Runs `body` holding a reference, or throws .closed.
    @inline(__always)
    func using<R>(_ call: String, _ body: () throws -> R) throws -> R {
        var current = references.load(ordering: .relaxed)
        while true {
            if current & Socket.closedBit != 0 { throw NetError.closed(call, address) }
            let (exchanged, original) = references.compareExchange(expected: current, desired: current + 1,
                                                                   ordering: .sequentiallyConsistent)
            if exchanged { break }
            current = original
        }
        defer {
            if references.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue == Socket.closedBit {
                finalClose()
            }
        }
        return try body()
    }

    /// Idempotent; wakes parked operations with .closed. Any thread.
    func close() {
        let before = references.bitwiseOr(Socket.closedBit, ordering: .sequentiallyConsistent).oldValue
        if before & Socket.closedBit != 0 { return }
        let (reader, writer) = withPreemptionDisabled { descriptor.evict() }
        wake(reader)
        wake(writer)
        if before == 0 { finalClose() }
    }

    /// The last reference is gone and the socket is closed: close the fd (which
    /// takes it out of epoll) and return the descriptor to the cache.
    private func finalClose() {
        _ = ts_close(fd)
        netpoller.release(descriptor)
    }

    private func wake(_ goroutine: UInt) {
        guard goroutine != 0, !netpoller.isClosed.load(ordering: .sequentiallyConsistent) else { return }
        withPreemptionDisabled {
            let g = Goroutine.from(opaque: goroutine)
            g.scheduler.ready(g, next: false)
        }
    }

    // MARK: I/O loops

    /// Runs `attempt` (a non-blocking call returning 0 or an errno) until it
    /// succeeds or fails with something else than EAGAIN, parking on `mode`
    /// after each EAGAIN. Go's fd.Read loop. Throws .timedOut, .closed or the
    /// call's error, naming `address` (the socket's own when nil; sendto names
    /// its destination). The caller holds a reference and the direction's lock.
    func retryOnEAGAIN(_ mode: PollMode, _ call: String, naming address: String? = nil,
                       _ attempt: () -> Int32) throws {
        let address = address ?? self.address
        if descriptor.deadlineExpired(mode) { throw NetError.timedOut(call, address) }
        while true {
            let rc = attempt()
            if rc == 0 { return }
            guard rc == EAGAIN else { throw NetError(call: call, address: address, errno: rc) }
            try park(mode, call, naming: address)
        }
    }

    /// Parks until `mode` may be ready; throws when the wait ends otherwise.
    func park(_ mode: PollMode, _ call: String, naming address: String? = nil) throws {
        let reason = withRuntimeEntry("socket wait") { g, _ in descriptor.wait(mode, g) }
        switch reason {
        case .ready: return
        case .timedOut: throw NetError.timedOut(call, address ?? self.address)
        case .closed: throw NetError.closed(call, address ?? self.address)
        }
    }

    // MARK: Deadlines

    func setDeadline(_ mode: PollMode, _ deadline: ContinuousClock.Instant?) {
        let monotonic: UInt64
        if let deadline {
            // The runtime's clock is CLOCK_MONOTONIC: carry the time left over.
            let left = ContinuousClock.now.duration(to: deadline)
            let (seconds, attoseconds) = left.components
            let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
            // Already passed: 1 ns after boot is in the past too (0 means "none").
            monotonic = nanoseconds <= 0 ? 1 : ts_monotonic_ns() + UInt64(nanoseconds)
        } else {
            monotonic = 0
        }
        setMonotonicDeadline(mode, monotonic)
    }

    /// Sets `mode`'s deadline in CLOCK_MONOTONIC ns (0 clears it). Any thread.
    func setMonotonicDeadline(_ mode: PollMode, _ deadline: UInt64) {
        withPreemptionDisabled {
            let (wake, armAt, generation) = descriptor.setDeadline(mode, deadline)
            if armAt != 0, !netpoller.isClosed.load(ordering: .sequentiallyConsistent) {
                // On the caller's P, or P0's heap from a thread without one (any M
                // runs other Ps' expired timers while looking for work).
                let scheduler = netpoller.scheduler
                let p = Machine.current?.processor ?? scheduler.processors[0]
                scheduler.armTimer(.pollDeadline(descriptor, generation: generation, mode: mode), at: armAt, on: p)
            }
            self.wake(wake)
        }
    }
}
