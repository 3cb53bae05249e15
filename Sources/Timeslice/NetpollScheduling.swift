// The netpoller in the scheduler (Go's netpoll calls in findRunnable and
// sysmon, injectglist). Netpoller.swift is epoll itself; PollDescriptor.swift
// the per-socket state.
//
// Three places poll:
//   - findRunnable, without blocking, after the local and global queues and
//     before stealing, when goroutines wait on sockets and no M blocks in
//     epoll_wait (Netpoller.lastPoll != 0): it runs one readied goroutine and
//     injects the rest.
//   - the sleeper M (TimerSleeper.swift), which already sleeps until the earliest
//     timer: while goroutines wait on sockets it sleeps in epoll_wait with that
//     timeout instead of a futex, so timers and I/O share one sleep. It holds no
//     P, as every poller that blocks: the poller never blocks an M holding a P.
//     At most one M blocks in epoll_wait (lastPoll == 0 is its token), so an
//     eventfd interrupt cannot be read back by another blocked M.
//     Without socket waiters it keeps the futex (its timeout is exact to the ns;
//     epoll_pwait2 adds the kernel's 0.1 % select slack). The first waiter of a
//     quiet period wakes a futex sleeper so it re-parks in epoll (firstNetpollWaiter).
//   - sysmon, without blocking, when nobody polled for 10 ms (all Ps busy).
// Readied goroutines go to run queues like any other (injectReadied, Go's
// injectglist): with a P, one per idle P to the global queue with an M started
// for each, the rest to the P's own queue; without one, all to the global queue.
//
// Waking the sleeper out of epoll_wait: a waker stores the M's park word, then
// (sequentially consistent fence) reads Machine.blockedInNetpoll and, if set,
// writes the eventfd; the sleeper stores blockedInNetpoll, fences, then reads
// the park word before it calls epoll_wait. Either the sleeper sees the wake and
// does not block, or the waker sees the sleeper and interrupts it (Machine.wake).
import CTimeslice
import Synchronization

extension Scheduler {
    /// Nobody polled for this long while goroutines wait on sockets: sysmon polls.
    static let netpollStaleNanoseconds: UInt64 = 10_000_000

    /// findRunnable's poll: a readied goroutine to run on `p`, the rest injected.
    func pollNetworkWithoutBlocking(_ m: Machine, holding p: Processor) -> Goroutine? {
        guard netpoller.waiters.load(ordering: .sequentiallyConsistent) > 0,
              netpoller.lastPoll.load(ordering: .relaxed) != 0 else { return nil }
        // No store to lastPoll here (as in Go): an M may have taken it (0) to block
        // since the check above, and a store would let a second M block too.
        var readied = netpoller.poll(timeoutNanoseconds: 0, counters: m.counters)
        guard let first = readied.popLast() else { return nil }
        m.traceBuffer?.record(.netpollWake, a: UInt64(readied.count + 1), b: NetpollWaker.findRunnable.rawValue)
        injectReadied(readied, holding: p)
        return Goroutine.from(opaque: first)
    }

    /// The sleeper M's sleep (stopMachine): epoll_wait until `deadline` while
    /// goroutines wait on sockets. Returns the goroutines readied, or nil when
    /// there are no socket waiters (then the caller parks on its futex).
    func sleepInNetpoll(_ m: Machine, until deadline: UInt64?) -> [UInt]? {
        // Decide before publishing blockedInNetpoll: firstNetpollWaiter leaves a
        // sleeper alone only when it saw it committed to epoll_wait.
        if netpoller.waiters.load(ordering: .sequentiallyConsistent) == 0 { return nil }
        // One M at a time blocks in epoll_wait (Go's lastpoll swap), so the eventfd
        // interrupt always reaches the M it is meant for: with two blocked, the
        // other could read it back first and the target would sleep on.
        guard netpoller.lastPoll.exchange(0, ordering: .sequentiallyConsistent) != 0 else { return nil }
        defer { netpoller.lastPoll.store(ts_monotonic_ns(), ordering: .sequentiallyConsistent) }
        // The rule checked in debug builds (the tests).
        assert(netpoller.blockedPollers.wrappingAdd(1, ordering: .relaxed).newValue == 1,
               "timeslice: two Ms blocked in epoll_wait at once")
        defer { assert(netpoller.blockedPollers.wrappingSubtract(1, ordering: .relaxed).newValue == 0) }
        m.blockedInNetpoll.store(true, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        defer { m.blockedInNetpoll.store(false, ordering: .sequentiallyConsistent) }
        if ts_load_u32(&m.header.pointee.park_word) != 0 { return [] }   // woken already
        var timeout: Int64 = -1
        if let deadline {
            let now = ts_monotonic_ns()
            timeout = deadline > now ? Int64(deadline - now) : 0
            if timeout == 0 { return [] }
        }
        let readied = netpoller.poll(timeoutNanoseconds: timeout, counters: m.counters)
        if !readied.isEmpty {
            m.traceBuffer?.record(.netpollWake, a: UInt64(readied.count), b: NetpollWaker.sleeper.rawValue)
        }
        return readied
    }

    /// sysmon's poll, when nobody polled for 10 ms.
    func pollNetworkIfStale(now: UInt64, trace: TraceBuffer?) {
        guard netpoller.waiters.load(ordering: .sequentiallyConsistent) > 0 else { return }
        let last = netpoller.lastPoll.load(ordering: .relaxed)
        guard last != 0, now &- last > Scheduler.netpollStaleNanoseconds,
              netpoller.lastPoll.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else { return }
        let readied = netpoller.poll(timeoutNanoseconds: 0, counters: counters)
        if !readied.isEmpty {
            trace?.record(.netpollWake, a: UInt64(readied.count), b: NetpollWaker.sysmon.rawValue)
            injectReadied(readied, holding: nil)
        }
    }

    /// Go's injectglist: makes goroutines the netpoller readied runnable. `p` is
    /// the caller's P (nil: none; sysmon, the sleeper without a P).
    func injectReadied(_ readied: [UInt], holding p: Processor?) {
        guard !readied.isEmpty else { return }
        guard let p else {
            putGlobalBatch(readied)
            for _ in 0..<min(readied.count, idleProcessorCount.load(ordering: .sequentiallyConsistent)) {
                startMachine(processor: nil, spinning: false)
            }
            return
        }
        let toIdle = min(readied.count, idleProcessorCount.load(ordering: .sequentiallyConsistent))
        if toIdle > 0 {
            putGlobalBatch(Array(readied[0..<toIdle]))
            for _ in 0..<toIdle { startMachine(processor: nil, spinning: false) }
        }
        for entry in readied[toIdle...] { putLocal(Goroutine.from(opaque: entry), on: p, next: false) }
        if toIdle < readied.count { wakeIdleProcessor() }
    }

    /// The first goroutine of a quiet period parked on a socket (the caller holds
    /// its descriptor's lock): a sleeper M parked on its futex re-parks in epoll.
    func firstNetpollWaiter() { wakeSleeperIntoNetpoll(startingOneIfNone: true) }

    /// A sleeper M parked on its futex while goroutines wait on sockets is woken
    /// to re-park in epoll_wait. With no sleeper at all and `startingOneIfNone`,
    /// an idle P's M is started: finding no work, it parks as the sleeper.
    func wakeSleeperIntoNetpoll(startingOneIfNone: Bool) {
        guard netpoller.waiters.load(ordering: .sequentiallyConsistent) > 0 else { return }
        lock.lock()
        guard let sleeper = timerSleeper else {
            lock.unlock()
            if startingOneIfNone { wakeIdleProcessor() }
            return
        }
        if sleeper.blockedInNetpoll.load(ordering: .sequentiallyConsistent) {
            lock.unlock()
            return
        }
        clearTimerSleeperLocked()
        lock.unlock()
        sleeper.wake()
    }
}

/// Who readied goroutines from the netpoller (trace event `netpollWake`, b).
enum NetpollWaker: UInt32 {
    case findRunnable = 0
    case sleeper = 1
    case sysmon = 2
}
