// The netpoller in the scheduler (Go's netpoll calls in findRunnable and
// sysmon, injectglist). Netpoller.swift is epoll itself; PollDescriptor.swift
// the per-socket state.
//
// Four places poll:
//   - findRunnable, without blocking, after the local and global queues and
//     before stealing, when goroutines wait on sockets and no M blocks in
//     epoll_wait (Netpoller.lastPoll != 0): it runs one readied goroutine and
//     injects the rest.
//   - an idle M (stopMachine, Idle.swift), blocking, while goroutines wait on
//     sockets: whichever M parks first while nobody else blocks there (Go's
//     findRunnable: the M about to stop takes sched.lastpoll). The timer sleeper
//     (TimerSleeper.swift) blocks with the earliest timer as its timeout, so
//     timers and I/O share one sleep; any other M blocks without a timeout. It
//     holds no P, as every poller that blocks: the poller never blocks an M
//     holding a P. At most one M blocks in epoll_wait (lastPoll == 0 is its
//     token), so an eventfd interrupt cannot be read back by another blocked M;
//     the others park on their futex (exact to the ns; epoll_pwait2 adds the
//     kernel's 0.1 % select slack).
//     Somebody must take the token whenever goroutines wait on sockets: the first
//     waiter of a quiet period (through its M, which blocks there itself when it
//     finds nothing else to run: firstNetpollWaiter) and a poller that leaves
//     epoll_wait with goroutines to run while others still wait wakes an idle
//     futex M (wakeIdleMachineIntoNetpoll) when a P is idle for it and such
//     handovers have paid off (NetpollHandover.swift; Go never hands over); a poller
//     woken without a P to take parks in epoll_wait again
//     itself; one that leaves empty-handed with a P (its timer, a P handed to it)
//     looks for work and, finding none, parks there again (waking nobody: an
//     extra M's spin per timer wake-up for nothing).
//     startMachine takes another idle M than the poller when it can.
//   - g0 after a preemption, without blocking, when no M blocks in epoll_wait
//     (pollNetworkAtPreemption): what it readies runs before the preempted goroutine.
//   - findLocalWork, every netpollScheduleInterval-th schedule of a P, before its local
//     queue, the same way: a P whose queue always holds work (a goroutine that yields,
//     cooperative mode) would otherwise never reach findRunnable's poll, and readiness
//     would wait for sysmon's 10 ms one when no M blocks in epoll_wait.
//   - sysmon, without blocking, when nobody polled for 10 ms (all Ps busy and no
//     idle M; counted apart, netpollSysmonGoroutinesReadied: readiness seen late).
// Readied goroutines go to run queues like any other (injectReadied, Go's
// injectglist): with a P, one per idle P to the global queue with an M started
// for each, the rest to the P's own queue; without one, all to the global queue.
// A poller leaving epoll_wait with a P runs the first readied goroutine itself
// (Go's findRunnable returns it), so a lone request wakes no other M.
//
// Waking the poller out of epoll_wait: a waker stores the M's park word, then
// (sequentially consistent fence) reads Machine.blockedInNetpoll and, if set,
// writes the eventfd; the poller stores blockedInNetpoll, fences, then reads
// the park word before it calls epoll_wait. Either the poller sees the wake and
// does not block, or the waker sees the poller and interrupts it (Machine.wake).
// Nobody left polling: the first waiter increments `waiters` then reads lastPoll;
// an M leaving epoll_wait stores lastPoll then reads `waiters` (to park there
// again, or in wakeIdleMachineIntoNetpoll), all sequentially consistent, so one
// of the two sees the other. (An empty-handed poller that finds work in
// findRunnable runs it first: meanwhile only findRunnable's and sysmon's polls
// see readiness, as in Go.)
import CTimeslice
import Synchronization

extension Scheduler {
    /// Nobody polled for this long while goroutines wait on sockets: sysmon polls.
    static let netpollStaleNanoseconds: UInt64 = 10_000_000
    /// Every this many schedules (new slices) of a P, findLocalWork polls before the
    /// local queue when nobody blocks in epoll_wait (a prime, apart from the global
    /// queue's 61).
    static let netpollScheduleInterval: UInt32 = 31

    /// findRunnable's poll: a readied goroutine to run on `p`, the rest injected.
    func pollNetworkWithoutBlocking(_ m: Machine, holding p: Processor) -> Goroutine? {
        guard netpoller.waiters.load(ordering: .sequentiallyConsistent) > 0 else { return nil }
        let last = netpoller.lastPoll.load(ordering: .relaxed)
        guard last != 0 else { return nil }
        var readied = netpoller.poll(timeoutNanoseconds: 0, counters: m.counters)
        notePolled(since: last)
        guard let first = readied.popLast() else { return nil }
        m.traceBuffer?.record(.netpollWake, a: UInt64(readied.count + 1), b: NetpollWaker.findRunnable.rawValue)
        injectReadied(readied, holding: p)
        return Goroutine.from(opaque: first)
    }

    /// g0 of `m`, just after its goroutine was preempted at a slice's end: when goroutines
    /// wait on sockets and no M blocks in epoll_wait (every M busy, as at one P with one M),
    /// a poll without blocking, its goroutines queued ahead of the preempted one (Shinjuku's
    /// rule: at each quantum's end, look for new requests). Otherwise readiness would wait
    /// until the queues ran dry or sysmon's 10 ms poll, and a preempted long request ran
    /// again at once: measured in the bimodal server at 1 P, 199 of 227 preemptions resumed
    /// the same goroutine and the first poll after it readied a median of 18. At most one
    /// epoll_wait per slice.
    func pollNetworkAtPreemption(_ m: Machine, holding p: Processor) {
        guard netpoller.waiters.load(ordering: .relaxed) > 0 else { return }
        let last = netpoller.lastPoll.load(ordering: .relaxed)
        guard last != 0 else { return }
        let readied = netpoller.poll(timeoutNanoseconds: 0, counters: m.counters)
        notePolled(since: last)
        guard !readied.isEmpty else { return }
        m.traceBuffer?.record(.netpollWake, a: UInt64(readied.count), b: NetpollWaker.preemption.rawValue)
        injectReadied(readied, holding: p)
    }

    /// A poll without blocking looked at the sockets: sysmon's 10 ms staleness counts
    /// from it, so sysmon polls only when nobody has (before, it counted from the last
    /// blocking poll, fired while slice ends were polling, and its count of readiness
    /// "seen late" included goroutines found promptly). A compare-exchange from the
    /// value read, never a store: an M that has taken the right to block (0) since
    /// keeps it, and nonzero stays nonzero, so the handshakes on zero are untouched.
    private func notePolled(since last: UInt64) {
        _ = netpoller.lastPoll.compareExchange(expected: last, desired: ts_monotonic_ns(), ordering: .relaxed)
    }

    /// An idle M's sleep (stopMachine): epoll_wait until `deadline` (nil: none)
    /// while goroutines wait on sockets. Returns the goroutines readied, or nil
    /// when there are no socket waiters or another M blocks there (then the
    /// caller parks on its futex).
    func sleepInNetpoll(_ m: Machine, until deadline: UInt64?) -> [UInt]? {
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
        if let found = spinInNetpoll(m, timeout: timeout) {
            if !found.isEmpty { netpoller.handover.readinessArrived() }
            return found
        }
        let readied = netpoller.poll(timeoutNanoseconds: timeout, counters: m.counters)
        if !readied.isEmpty {
            m.traceBuffer?.record(.netpollWake, a: UInt64(readied.count), b: NetpollWaker.sleeper.rawValue)
            netpoller.handover.readinessArrived()
        }
        return readied
    }

    /// Busy polling (RuntimeConfiguration.netpollSpinNanoseconds): the M holding the right to
    /// block in epoll_wait polls without blocking for up to the spin (or its timeout), and
    /// returns what it finds — goroutines (counted in netpollSpinHits) or [] when woken
    /// meanwhile (its park word; a waker's eventfd write also ends a poll). nil: nothing
    /// came, block as usual.
    private func spinInNetpoll(_ m: Machine, timeout: Int64) -> [UInt]? {
        guard netpollSpinNanoseconds > 0 else { return nil }
        let spin = timeout < 0 ? netpollSpinNanoseconds : min(netpollSpinNanoseconds, UInt64(timeout))
        let end = ts_monotonic_ns() &+ spin
        repeat {
            let readied = netpoller.poll(timeoutNanoseconds: 0, counters: m.counters)
            if !readied.isEmpty {
                m.counters.add(.netpollSpinHits)
                m.traceBuffer?.record(.netpollWake, a: UInt64(readied.count), b: NetpollWaker.sleeper.rawValue)
                return readied
            }
            if ts_load_u32(&m.header.pointee.park_word) != 0 { return [] }
        } while ts_monotonic_ns() < end
        return nil
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
            counters.add(.netpollSysmonGoroutinesReadied, UInt64(readied.count))
            trace?.record(.netpollWake, a: UInt64(readied.count), b: NetpollWaker.sysmon.rawValue)
            injectReadied(readied, holding: nil)
        }
    }

    /// A poller leaving epoll_wait with `p`: the first readied goroutine goes to the
    /// front of p's (empty) queue for this M to run next, the rest as injectReadied.
    func takeReadied(_ readied: [UInt], holding p: Processor) {
        guard let first = readied.first else { return }
        putLocal(Goroutine.from(opaque: first), on: p, next: false)
        injectReadied(Array(readied.dropFirst()), holding: p)
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

    /// The first goroutine of a quiet period parks on a socket (the caller holds its
    /// descriptor's lock). Somebody must block in epoll_wait, but not necessarily
    /// somebody else: the goroutine's own M, about to look for work, blocks there
    /// itself if it finds none (stopMachine), as Go's does. Waking an idle M at once
    /// cost a futex wake-up per request on a ping-pong connection, whose waiter count
    /// goes 0 -> 1 every round trip. So the M owes the wake-up, and pays it only if it
    /// finds other work (payNetpollerDebt); off an M (cannot happen for goroutine
    /// sockets, kept for safety) the wake-up is immediate.
    func firstNetpollWaiter() {
        if let m = Machine.current { m.owesNetpoller = true } else { wakeIdleMachineIntoNetpoll() }
    }

    /// g0 of `m`, about to run a goroutine or to wait for its locked one: wakes an idle
    /// M into epoll_wait if a goroutine of this M was the first socket waiter and
    /// nobody blocks there yet. stopMachine clears the debt instead (it polls itself).
    @inline(__always)
    func payNetpollerDebt(_ m: Machine) {
        if _slowPath(m.owesNetpoller) {
            m.owesNetpoller = false
            wakeIdleMachineIntoNetpoll()
        }
    }

    /// The poller `m` left epoll_wait with a P to run the goroutines it readied
    /// (stopMachine): another M takes its place while that has paid off
    /// (NetpollHandover.swift); otherwise `m` blocks there again when it comes back,
    /// as Go's does (Go never hands over), and meanwhile the next slice end's poll and
    /// findRunnable's see readiness.
    ///
    /// Only while a P is idle (Go's wakep has the same condition): the M woken could
    /// take it and run what it readies at once. With none, it would only move readied
    /// goroutines to the global queue, which this M's next look for work, its slice end
    /// (pollNetworkAtPreemption) and every `netpollScheduleInterval`-th schedule
    /// (findLocalWork) see anyway; at one P confined to one CPU (the server experiment)
    /// every request paid two context switches to a second M on that CPU for it
    /// (29 250 handovers in a 2 s run at 30 000 requests/s, all scored useful).
    func netpollerLeftToRun(_ m: Machine) {
        guard idleProcessorCount.load(ordering: .sequentiallyConsistent) > 0,
              netpoller.waiters.load(ordering: .sequentiallyConsistent) > 0,
              netpoller.lastPoll.load(ordering: .sequentiallyConsistent) != 0 else { return }
        if netpoller.handover.shouldHandOver(from: m.id) {
            m.counters.add(.netpollHandovers)
            wakeIdleMachineIntoNetpoll()
        } else {
            m.counters.add(.netpollHandoversDeclined)
        }
    }

    /// While goroutines wait on sockets and no M holds the right to block in
    /// epoll_wait, an idle M parked on its futex is woken: finding no P to take, it
    /// parks again in epoll_wait (with one, it runs findRunnable first). The timer
    /// sleeper is woken only when no other idle M is parked (it gives up its timer
    /// role). With none, an idle P's M is started: finding no work, it parks as
    /// the poller.
    func wakeIdleMachineIntoNetpoll() {
        guard netpoller.waiters.load(ordering: .sequentiallyConsistent) > 0,
              netpoller.lastPoll.load(ordering: .sequentiallyConsistent) != 0 else { return }
        lock.lock()
        if idleMachines.contains(where: { $0.blockedInNetpoll.load(ordering: .sequentiallyConsistent) }) {
            lock.unlock()
            return
        }
        // Not one already woken (its park word set): it may be leaving with a P.
        let parked = { (m: Machine) in ts_load_u32(&m.header.pointee.park_word) == 0 }
        guard let chosen = idleMachines.last(where: { $0 !== timerSleeper && parked($0) })
                ?? timerSleeper.flatMap({ parked($0) ? $0 : nil }) else {
            lock.unlock()
            wakeIdleProcessor()
            return
        }
        if chosen === timerSleeper { clearTimerSleeperLocked() }
        lock.unlock()
        chosen.wake()
    }
}

/// Who readied goroutines from the netpoller (trace event `netpollWake`, b).
enum NetpollWaker: UInt32 {
    case findRunnable = 0
    case sleeper = 1
    case sysmon = 2
    case preemption = 3
}
