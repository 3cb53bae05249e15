// The netpoller: one epoll instance per runtime (Go's netpoll_epoll.go).
//
// Every socket is registered once, edge-triggered, for both directions
// (ts_epoll_register); its event data is its PollDescriptor's tag. An eventfd,
// registered level-triggered with tag 0, interrupts an M blocked in epoll_wait
// (interrupt, Go's netpollBreak; `interruptPending` coalesces them like
// netpollWakeSig). Only a blocking poll reads it back: a non-blocking poll that
// sees it leaves it, so it stays readable until the blocked M (the one it is
// meant for) returns, as in Go.
//
// Who polls (NetpollScheduling.swift): an M looking for work, without blocking,
// before it steals; the sleeper M (TimerSleeper.swift), blocking until the
// earliest timer, while goroutines wait on sockets; sysmon, without blocking,
// when nobody polled for 10 ms. Several threads may poll at once: epoll hands
// each edge to one of them.
//
// Lifetime: created with the scheduler, its two descriptors closed by
// Scheduler.shutdown once every M stopped. Sockets keep it alive (they close
// their fds and return their PollDescriptors here); after shutdown nothing is
// readied any more.
import CTimeslice
import Glibc
import Synchronization

final class Netpoller {
    unowned(unsafe) let scheduler: Scheduler
    /// Fixed at init; -1 once closed (then only read by close's caller).
    private(set) var epollFD: Int32
    private(set) var interruptFD: Int32

    /// Goroutines parked on a descriptor (Go's netpollWaiters). Changed under
    /// the descriptor's lock, sequentially consistent: the sleeper M decides
    /// between epoll_wait and a futex park on it (NetpollScheduling.swift).
    let waiters = Atomic<Int>(0)
    /// An eventfd write not yet read back (Go's netpollWakeSig).
    private let interruptPending = Atomic<Bool>(false)
    /// When a poll last returned (monotonic ns); 0 while an M blocks in
    /// epoll_wait (Go's sched.lastpoll): swapping it to 0 is the right to block
    /// there, one M at a time; sysmon polls when it is 10 ms old.
    let lastPoll = Atomic<UInt64>(1)
    /// Ms between taking and giving back lastPoll's 0, counted only by debug
    /// builds' assertion that there is at most one (NetpollScheduling.swift).
    let blockedPollers = Atomic<Int>(0)
    /// Set by close(): sockets stop readying goroutines (the runtime is gone).
    let isClosed = Atomic<Bool>(false)
    /// Whether a poller leaving epoll_wait to run goroutines hands its role over
    /// (NetpollHandover.swift).
    let handover = NetpollHandover()

    /// The descriptor cache (Go's pollcache). `all` keeps every descriptor ever
    /// made alive; `free` holds the unused ones. Both under `cacheLock`, a leaf.
    private let cacheLock = RuntimeLock()
    @exclusivity(unchecked) private var all: [PollDescriptor] = []
    @exclusivity(unchecked) private var free: [PollDescriptor] = []

    init(scheduler: Scheduler) {
        self.scheduler = scheduler
        var epoll: Int32 = -1
        var event: Int32 = -1
        var rc = ts_epoll_create(&epoll)
        if rc != 0 { fatalError("timeslice: netpoller: epoll_create1: \(errnoText(rc))") }
        rc = ts_eventfd_create(&event)
        if rc != 0 { fatalError("timeslice: netpoller: eventfd: \(errnoText(rc))") }
        rc = ts_epoll_register(epoll, event, 0, 0)
        if rc != 0 { fatalError("timeslice: netpoller: epoll_ctl(eventfd): \(errnoText(rc))") }
        epollFD = epoll
        interruptFD = event
    }

    /// Closes the epoll fd and the eventfd. Called once, after every M stopped.
    func close() {
        isClosed.store(true, ordering: .sequentiallyConsistent)
        _ = ts_close(epollFD)
        _ = ts_close(interruptFD)
        epollFD = -1
        interruptFD = -1
    }

    // MARK: Registration

    /// Registers `fd` and returns its descriptor, or the errno of epoll_ctl.
    /// Runtime locks are held with preemption disabled here and in release: a
    /// goroutine preempted holding one would block every M that wants it.
    func register(fd: Int32) -> Result<PollDescriptor, NetError> {
        let pd = withPreemptionDisabled { () -> PollDescriptor in
            let pd = cacheLock.withLock { () -> PollDescriptor in
                if let reused = free.popLast() { return reused }
                let fresh = PollDescriptor(netpoller: self)
                all.append(fresh)
                return fresh
            }
            pd.reset(fd: fd)
            return pd
        }
        let rc = ts_epoll_register(epollFD, fd, pd.epollTag, 1)
        if rc != 0 {
            release(pd)
            return .failure(NetError(call: "epoll_ctl", address: "", errno: rc))
        }
        return .success(pd)
    }

    /// Returns `pd` to the cache; its fd is closed (which removed it from epoll).
    func release(_ pd: PollDescriptor) {
        withPreemptionDisabled {
            pd.retire()
            cacheLock.withLock { free.append(pd) }
        }
    }

    // MARK: Waiters (PollDescriptor.wait, under the descriptor's lock)

    func waiterAdded() {
        if waiters.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue == 1 {
            scheduler.firstNetpollWaiter()
        }
    }

    func waiterRemoved() {
        waiters.wrappingSubtract(1, ordering: .sequentiallyConsistent)
    }

    // MARK: Polling

    /// Makes an M blocked in epoll_wait return (Go's netpollBreak).
    func interrupt() {
        guard interruptPending.compareExchange(expected: false, desired: true,
                                               ordering: .sequentiallyConsistent).exchanged else { return }
        _ = ts_eventfd_signal(interruptFD)
    }

    /// One epoll_wait (timeout in ns: < 0 forever, 0 a poll). Returns the
    /// goroutines readied, and counts into `counters`.
    func poll(timeoutNanoseconds: Int64, counters: CounterBlock) -> [UInt] {
        var readied: [UInt] = []
        let capacity = 128
        withUnsafeTemporaryAllocation(of: ts_poll_event.self, capacity: capacity) { events in
            var count: Int32 = 0
            let rc = ts_epoll_wait(epollFD, events.baseAddress, Int32(capacity), timeoutNanoseconds, &count)
            counters.add(.netpollPolls)
            if timeoutNanoseconds != 0 { counters.add(.netpollBlockingPolls) }
            if rc != 0 { fatalError("timeslice: netpoller: epoll_wait: \(errnoText(rc))") }
            var fdsReady: UInt64 = 0
            for i in 0..<Int(count) {
                let event = events[i]
                if event.tag == 0 {
                    if timeoutNanoseconds != 0 {
                        _ = ts_eventfd_drain(interruptFD)
                        interruptPending.store(false, ordering: .sequentiallyConsistent)
                    }
                    continue
                }
                fdsReady += 1
                let (pd, generation) = PollDescriptor.from(epollTag: event.tag)
                if event.readable != 0 {
                    let g = pd.netpollReady(.read, tagGeneration: generation)
                    if g != 0 { readied.append(g) }
                }
                if event.writable != 0 {
                    let g = pd.netpollReady(.write, tagGeneration: generation)
                    if g != 0 { readied.append(g) }
                }
            }
            if fdsReady > 0 { counters.add(.netpollFdsReady, fdsReady) }
            if !readied.isEmpty { counters.add(.netpollGoroutinesReadied, UInt64(readied.count)) }
        }
        return readied
    }
}

/// "EAGAIN (Resource temporarily unavailable)"-style text for a fatal message.
func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code)) + " (errno \(code))"
}
