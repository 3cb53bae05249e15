// Poll descriptor: the runtime's side of one registered socket (Go's pollDesc,
// runtime/netpoll.go). It is where a goroutine that got EAGAIN parks and where
// the netpoller, a deadline timer or close() find it.
//
// State, per direction (read, write), Go's rg/wg word:
//   idle    nothing noted, nobody waits                 (Go: pdNil)
//   ready   an edge arrived that nobody consumed yet    (Go: pdReady)
//   parked  a goroutine waits; its PollWaiter is here   (Go: pdWait, then the G)
// Transitions, all under `lock`:
//   waitLocked (the I/O goroutine, after EAGAIN): ready -> idle (retry the call);
//     idle -> parked (park, g0 releases `lock` once the G is off its stack).
//   netpollReady (the netpoller, an epoll edge): idle -> ready; parked -> idle,
//     waking the goroutine with .ready.
//   deadline expiry (a timer, or setDeadline with a past time) and evict (close):
//     parked -> idle, waking it with .timedOut / .closed.
//
// Lost wake-up: the goroutine's read returned EAGAIN *before* it takes `lock`.
// The fd is registered edge-triggered, so an edge after that EAGAIN is reported
// by epoll after it, and the netpoller handles it under `lock`: either before the
// goroutine looks (it finds `ready` and retries the call) or after the goroutine
// parked (it finds `parked` and wakes it). An edge from before the EAGAIN at worst
// leaves a stale `ready`: one extra, harmless retry. Go closes the same window
// with a CAS on the state word; here Park.swift's lock protocol does it, which
// also gives close and deadlines the same waker path.
//
// Lifetime: descriptors are never freed while their Netpoller lives (a cache,
// Netpoller.swift), so an epoll event or a deadline timer that outlives a close
// never touches freed memory. `generation` grows at every reuse; events and
// timers carry the generation they were made for and are ignored on a mismatch.
//
// Locks: `lock` is taken with preemption disabled and held briefly. Order: a
// descriptor's `lock`, then the scheduler's `lock` (a first waiter wakes the
// sleeper M into the netpoller, NetpollScheduling.swift). Timers are armed after
// `lock` is released, so timer heap locks never nest with it.
import CTimeslice
import Synchronization

enum PollMode: UInt8 {
    case read
    case write
}

/// Why a goroutine parked on a descriptor was woken.
enum PollWakeReason: UInt8 {
    case ready      // an epoll edge: retry the call
    case timedOut   // the direction's deadline passed
    case closed     // the socket was closed
}

/// One goroutine parked on a descriptor; lives in the goroutine's frame (its
/// stack does not move while it is parked). The waker writes `reason` under the
/// descriptor's lock before readying the goroutine.
struct PollWaiter {
    let goroutine: UInt
    var reason = PollWakeReason.ready
}

/// The per-direction state word (see the file comment).
enum PollState {
    case idle
    case ready
    case parked(UnsafeMutablePointer<PollWaiter>)
}

final class PollDescriptor {
    unowned(unsafe) let netpoller: Netpoller
    let lock = RuntimeLock()

    // Everything below is guarded by `lock`.
    /// The socket while registered (-1 in the cache).
    @exclusivity(unchecked) private(set) var fd: Int32 = -1
    /// Bumped at every reuse; epoll tags and deadline timers carry it.
    @exclusivity(unchecked) private(set) var generation: UInt32 = 0
    /// Set by evict (close): every wait fails with .closed from then on.
    @exclusivity(unchecked) private var closing = false
    @exclusivity(unchecked) private var readState = PollState.idle
    @exclusivity(unchecked) private var writeState = PollState.idle
    /// Absolute CLOCK_MONOTONIC deadlines in ns, 0 for none. Written under
    /// `lock`; atomics so the I/O loop's check before each call needs no lock.
    private let readDeadline = Atomic<UInt64>(0)
    private let writeDeadline = Atomic<UInt64>(0)
    /// The earliest deadline timer pending for the direction, 0 for none. A later
    /// deadline arms nothing: the pending timer re-arms itself when it fires early
    /// (deadlineTimerFired), so extending a deadline costs no timer.
    @exclusivity(unchecked) private var readTimerAt: UInt64 = 0
    @exclusivity(unchecked) private var writeTimerAt: UInt64 = 0

    init(netpoller: Netpoller) { self.netpoller = netpoller }

    /// The epoll event data of this registration: the object's address (below
    /// 2^47 on x86-64) with the generation's low 16 bits on top (Go's taggedPointer).
    var epollTag: UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque())) | (UInt64(generation & 0xFFFF) << 48)
    }

    static func from(epollTag tag: UInt64) -> (PollDescriptor, UInt32) {
        let address = UInt(tag & ((1 << 48) - 1))
        let pd = Unmanaged<PollDescriptor>.fromOpaque(UnsafeRawPointer(bitPattern: address)!).takeUnretainedValue()
        return (pd, UInt32(tag >> 48))
    }

    /// Takes the descriptor out of the cache for `fd` (Netpoller.register).
    func reset(fd: Int32) {
        lock.withLock {
            self.fd = fd
            generation &+= 1
            closing = false
            readState = .idle
            writeState = .idle
            readDeadline.store(0, ordering: .relaxed)
            writeDeadline.store(0, ordering: .relaxed)
            readTimerAt = 0
            writeTimerAt = 0
        }
    }

    // MARK: The I/O goroutine

    /// Whether `mode`'s deadline has passed (a check before each call). Any thread.
    func deadlineExpired(_ mode: PollMode) -> Bool {
        let deadline = self.deadline(mode)
        return deadline != 0 && deadline <= ts_monotonic_ns()
    }

    /// After EAGAIN: parks the running goroutine `g` until `mode` may be ready,
    /// its deadline passes or the socket closes. Preemption is disabled.
    func wait(_ mode: PollMode, _ g: UnsafeMutablePointer<ts_g>) -> PollWakeReason {
        lock.lock()
        if closing {
            lock.unlock()
            return .closed
        }
        let deadline = self.deadline(mode)
        if deadline != 0 && deadline <= ts_monotonic_ns() {
            lock.unlock()
            return .timedOut
        }
        switch state(mode) {
        case .ready:
            setState(mode, .idle)
            lock.unlock()
            return .ready
        case .parked:
            lock.unlock()
            fatalError("timeslice: two goroutines wait on the same socket direction (fd \(fd))")
        case .idle:
            var waiter = PollWaiter(goroutine: UInt(bitPattern: g.pointee.owner))
            return withUnsafeMutablePointer(to: &waiter) { w in
                setState(mode, .parked(w))
                netpoller.waiterAdded()
                parkCurrent(releasing: lock)
                return w.pointee.reason
            }
        }
    }

    // MARK: Wakers (each returns the goroutine to ready, 0 for none)

    /// The netpoller saw an edge for `mode` on the registration of `tagGeneration`.
    func netpollReady(_ mode: PollMode, tagGeneration: UInt32) -> UInt {
        lock.lock()
        defer { lock.unlock() }
        guard generation & 0xFFFF == tagGeneration else { return 0 }
        switch state(mode) {
        case .idle, .ready:
            setState(mode, .ready)
            return 0
        case .parked:
            return takeWaiterLocked(mode, reason: .ready)
        }
    }

    /// Sets `mode`'s deadline (0 clears it). Returns the goroutine to wake when
    /// the deadline has already passed, and the deadline to arm a timer for (0: none).
    func setDeadline(_ mode: PollMode, _ deadline: UInt64) -> (wake: UInt, armAt: UInt64, generation: UInt32) {
        lock.lock()
        defer { lock.unlock() }
        if mode == .read {
            readDeadline.store(deadline, ordering: .relaxed)
        } else {
            writeDeadline.store(deadline, ordering: .relaxed)
        }
        guard deadline != 0 else { return (0, 0, generation) }
        if deadline <= ts_monotonic_ns() {
            return (takeWaiterLocked(mode, reason: .timedOut), 0, generation)
        }
        let pending = mode == .read ? readTimerAt : writeTimerAt
        guard pending == 0 || deadline < pending else { return (0, 0, generation) }
        if mode == .read { readTimerAt = deadline } else { writeTimerAt = deadline }
        return (0, deadline, generation)
    }

    /// A deadline timer armed for `timerGeneration` fired at `now`. It is the
    /// earliest pending one for `mode` (heap order). Returns the goroutine to wake
    /// (.timedOut) and the deadline to re-arm for when the deadline was extended.
    func deadlineTimerFired(_ mode: PollMode, timerGeneration: UInt32, now: UInt64) -> (wake: UInt, armAt: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        guard generation == timerGeneration, !closing else { return (0, 0) }
        if mode == .read { readTimerAt = 0 } else { writeTimerAt = 0 }
        let deadline = self.deadline(mode)
        if deadline == 0 { return (0, 0) }
        if deadline <= now { return (takeWaiterLocked(mode, reason: .timedOut), 0) }
        if mode == .read { readTimerAt = deadline } else { writeTimerAt = deadline }
        return (0, deadline)
    }

    /// close(): every wait from now on fails; returns the parked goroutines.
    func evict() -> (reader: UInt, writer: UInt) {
        lock.lock()
        defer { lock.unlock() }
        closing = true
        return (takeWaiterLocked(.read, reason: .closed), takeWaiterLocked(.write, reason: .closed))
    }

    /// Back to the cache once the fd is closed.
    func retire() {
        lock.withLock {
            fd = -1
            closing = true
        }
    }

    // MARK: State word

    private func state(_ mode: PollMode) -> PollState { mode == .read ? readState : writeState }

    private func deadline(_ mode: PollMode) -> UInt64 {
        mode == .read ? readDeadline.load(ordering: .relaxed) : writeDeadline.load(ordering: .relaxed)
    }

    private func setState(_ mode: PollMode, _ state: PollState) {
        if mode == .read { readState = state } else { writeState = state }
    }

    /// Caller holds `lock`: wakes `mode`'s waiter, if any, with `reason`.
    private func takeWaiterLocked(_ mode: PollMode, reason: PollWakeReason) -> UInt {
        guard case .parked(let w) = state(mode) else { return 0 }
        w.pointee.reason = reason
        setState(mode, .idle)
        netpoller.waiterRemoved()
        return w.pointee.goroutine
    }
}
