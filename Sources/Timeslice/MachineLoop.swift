// The M loop: what every M thread runs (Go's mstart/schedule/execute), and
// what happens when a goroutine switches back to g0 (yield, park, exit,
// preemption, blockingCall without a P).
//
// runMachine loops: find a G (findRunnable, FindRunnable.swift), stop spinning
// if it was (Idle.swift), switch to the G (execute), and act on the reason it
// switched back. A G readied onto runnext inherits the current slice
// (inheritsTime); any other G starts a new one, which is where the slice clock
// is read when sysmon enforces slices (Sysmon.swift, Preemption.swift).
//
// Locked goroutines (LockOSThread.swift for the API): an M with a locked G runs
// only that G. When it switches out, the M gives its P away and waits
// (waitForLockedGoroutine, Go's stoplockedm); the M that later finds the G hands
// it its own P (handOffToLockedMachine, Go's startlockedm).
import CTimeslice
import Glibc

extension Scheduler {
    // MARK: The loop

    /// Body of every M thread.
    func runMachine(_ m: Machine) {
        let rc = ts_thread_setup(m.header, 64 * 1024)
        if rc != 0 { fatalError("timeslice: M\(m.id) setup failed: \(String(cString: strerror(rc)))") }
        _ = ts_thread_set_name("ts-m\(m.id)")
        m.traceBuffer = trace?.makeBuffer(name: "M\(m.id)")
        if let plan = placement.plan {
            placement.apply(plan.cpusForWorker(m.id), thread: "M\(m.id)")
            m.node = placement.node(ofWorker: m.id)
        }
        lock.withLock { _ = adoptHandedProcessorLocked(m) }
        while !m.retired {
            if m.lockedGoroutine != nil {
                // This M serves only its locked goroutine (LockOSThread.swift).
                payNetpollerDebt(m)   // it will not block in epoll_wait
                guard waitForLockedGoroutine(m) else { break }
                unowned(unsafe) let locked = m.lockedGoroutine!
                execute(locked, on: m, inheritsTime: false)
                continue
            }
            guard let (entry, inheritsTime) = findRunnable(m) else { break }
            payNetpollerDebt(m)
            if m.spinning { stopSpinning(m) }
            Unmanaged<Goroutine>.fromOpaque(UnsafeRawPointer(bitPattern: entry)!)._withUnsafeGuaranteedRef { g in
                if g.lockedMachine != nil && g.lockedMachine !== m {
                    handOffToLockedMachine(g, g.lockedMachine!, from: m)
                } else {
                    execute(g, on: m, inheritsTime: inheritsTime)
                }
            }
        }
        if m.retired, let p = m.processor {
            m.processor = nil
            handOff(p)
        }
        ts_thread_teardown(m.header)
        _ = ts_fetch_sub_u32(liveThreads, 1)
        _ = ts_futex_wake(liveThreads, Int32.max)
    }
    /// Switches to `g` and handles why it came back.
    fileprivate func execute(_ g: Goroutine, on m: Machine, inheritsTime: Bool) {
        // Borrow the P at +0: no retain/release on the hottest path (the scheduler
        // keeps every P alive).
        m.processorRef!._withUnsafeGuaranteedRef { p in execute(g, on: m, holding: p, inheritsTime: inheritsTime) }
    }

    fileprivate func execute(_ g: Goroutine, on m: Machine, holding p: Processor, inheritsTime: Bool) {
        if !inheritsTime {
            ts_store_u32(p.preemptWord, 0)   // a new slice: any request was for the last one
            p.scheduleTick.wrappingAdd(1, ordering: .relaxed)
            // One clock read per switch, only when sysmon enforces a slice: it lets
            // sysmon wake exactly when the slice ends instead of sampling ticks.
            if preemption.needsSysmonTicks {
                let now = ts_monotonic_ns()
                p.sliceStart.store(now, ordering: .relaxed)
                noteSliceStart(now: now)
                // A new slice, so no request yet: a handler entry noted for an earlier
                // request that never completed must not start this one's safe-point
                // wait. Plain store: only this thread (g0 here, its handler) touches it.
                m.header.pointee.sig_first_entry_ns = 0
            }
        }
        // A preemption request belongs to one run (Go clears gp.preempt in
        // execute): one left over from before the G parked must not cut this run.
        ts_store_u32(&g.header.pointee.preempt_request, 0)
        ts_store_u32(&g.header.pointee.preempt_pending, 0)
        // Last touch of the P before curg names the G: from the curg store on,
        // sysmon may take the P if this thread blocks (BlockedThread.swift).
        p.counters.addSingleWriter(.switches)
        m.current = g
        ts_store_curg(m.header, g.header)
        ts_set_current_g(g.header)
        m.traceBuffer?.record(.runStart, a: g.header.pointee.id)
        ts_enter_thread_local_context(g.header)
        ts_context_switch(&m.header.pointee.g0_sp, g.header.pointee.sp)
        ts_exit_thread_local_context(g.header)
        m.traceBuffer?.record(.runEnd, a: g.header.pointee.id, b: m.header.pointee.switch_reason)
        ts_set_current_g(nil)
        ts_store_curg(m.header, nil)
        m.current = nil

        let reason = SwitchReason(rawValue: m.header.pointee.switch_reason).unsafelyUnwrapped
        m.header.pointee.switch_reason = 0
        // This thread's thread-owned locks (ts_locks.h) the G left holding. Only a G
        // wired to this M may (it resumes here); otherwise the lock stays owned by
        // this thread while the G may run anywhere: Go's throw("schedule: holding locks").
        if ts_lock_count() != 0 && g.lockedMachine !== m { holdingLocks(g, reason) }
        // The G may come back holding another P than the one it was started with:
        // blockingCall's exit or a blocked-thread return (BlockedThread.swift)
        // reacquired a different one. The P lost is someone else's now.
        if _slowPath(reason != .syscallNoProcessor
                     && m.processorRef?.toOpaque() != Unmanaged.passUnretained(p).toOpaque()) {
            m.processorRef.unsafelyUnwrapped._withUnsafeGuaranteedRef { held in
                finishRun(g, on: m, holding: held, reason: reason)
            }
        } else {
            finishRun(g, on: m, holding: p, reason: reason)
        }
    }

    /// g0, after `g` switched back for `reason`, holding `p`.
    @inline(__always)
    fileprivate func finishRun(_ g: Goroutine, on m: Machine, holding p: Processor, reason: SwitchReason) {
        switch reason {
        case .yield:
            p.counters.addSingleWriter(.yields)
            requeueBehindExpiredTimers(g, on: p)
        case .park:
            m.processor?.counters.add(.parks)
            m.traceBuffer?.record(.park, a: g.header.pointee.id)
            if let lockPointer = m.header.pointee.park_lock {
                m.header.pointee.park_lock = nil
                Unmanaged<RuntimeLock>.fromOpaque(lockPointer).takeUnretainedValue().unlock()
            }
        case .parkReleasingAll:
            m.processor?.counters.add(.parks)
            m.traceBuffer?.record(.park, a: g.header.pointee.id)
            let list = m.header.pointee.park_lock.unsafelyUnwrapped
            m.header.pointee.park_lock = nil
            releaseAfterPark(list)
        case .exit:
            if g.lockedMachine === m {
                // Exited while locked: the thread may carry state the goroutine
                // changed, so it is retired rather than reused (Go's semantics).
                m.lockedGoroutine = nil
                m.retired = true
                counters.add(.threadsRetired)
            }
            recycle(g, cache: m.processor)
        case .preempted:
            let switchedAt = ts_monotonic_ns()
            ts_store_u32(p.preemptWord, 0)
            p.counters.add(.preemptionsDelivered)
            m.traceBuffer?.record(.preemptDelivered, a: g.header.pointee.id)
            finishPreemption(on: m, holding: p, switchedAt: switchedAt)
            pollNetworkAtPreemption(m, holding: p)
            requeueBehindExpiredTimers(g, on: p)
        case .syscallNoProcessor:
            putGlobal(g)
            wakeIdleProcessor()
        case .none:
            fatalError("goroutine \(g.id) switched to the scheduler without a reason")
        }
    }

    @inline(never)
    fileprivate func holdingLocks(_ g: Goroutine, _ reason: SwitchReason) -> Never {
        fatalError("timeslice: goroutine \(g.id) switched out (\(reason)) holding \(ts_lock_count()) "
            + "thread-owned lock(s) (pthread mutex/rwlock/spinlock, NSLock, NSRecursiveLock, NSCondition) "
            + "or inside withNoPreemption; it could resume on another OS thread while the lock stays owned "
            + "by this one. Release it before blocking (channel, sleep, WaitGroup, yield), use ParkingMutex "
            + "for a lock held across blocking operations, or lockOSThread().")
    }

    /// g0, just after a preempted G switched out: closes the P's request record
    /// (PreemptionBreakdown.swift). The exchange makes this the record's only
    /// reader, even if a runnext successor is preempted for the same request later.
    fileprivate func finishPreemption(on m: Machine, holding p: Processor, switchedAt: UInt64) {
        let firstEntry = m.header.pointee.sig_first_entry_ns   // this thread's handler wrote it
        m.header.pointee.sig_first_entry_ns = 0
        let signalledAt = p.preemptSignalAt.exchange(0, ordering: .acquiringAndReleasing)
        guard signalledAt != 0 else { return }   // no signal: polling, or already counted
        m.preemptionSamples.recordCompletion(
            switchedAt: switchedAt, signalledAt: signalledAt,
            signals: p.preemptSignals.load(ordering: .relaxed),
            // An entry before the first signal belongs to an older request.
            firstEntry: firstEntry >= signalledAt ? firstEntry : 0)
    }

    /// Puts a G that gave up its P (yield, preemption) at the tail of the local
    /// queue, after first readying the sleepers whose timers expired while it ran,
    /// so they run before it. Go sends preempted Gs to the global queue instead;
    /// there, every 61st schedule takes the preempted G back before a sleeper
    /// whose timer fired during its slice, which costs that sleeper a whole
    /// second slice (measured: p99 of two slices with one hog at 1 P).
    /// But when goroutines wait in the global queue (readied by a poller or a timer
    /// sleeper without a P, spilled by another P), the G goes behind them there: on
    /// the local tail, with nothing else local, it ran again at once, and they
    /// waited for the 61st schedule — 6 ms at a 100 µs slice, however short their
    /// work (the bimodal server's short requests behind a long one at 1 P).
    fileprivate func requeueBehindExpiredTimers(_ g: Goroutine, on p: Processor) {
        if pendingTimers.load(ordering: .sequentiallyConsistent) > 0 {
            runExpiredTimers(of: p, onto: p, now: ts_monotonic_ns())
        }
        if _slowPath(globalCount.load(ordering: .relaxed) > 0) {
            putGlobal(g)
        } else {
            putLocal(g, on: p, next: false)
        }
    }

    // MARK: Locked goroutines

    /// The locked M's side: its goroutine switched out, so give the P away and
    /// sleep until some M hands one back together with the goroutine. Returns
    /// false when the runtime stops meanwhile.
    ///
    /// The park word is cleared under the lock, after checking for a handed P, never
    /// before giving the P away: the goroutine is already runnable (requeued, or in the
    /// global queue) when this starts, so another M may find it and hand us a P (under
    /// the lock, then wake()) at any moment. Clearing the word after that wake would
    /// sleep through it with the P handed: a hang (seen ~1 run in 100 with a goroutine
    /// wired inside a lazy static's initializer yielding at maxProcs 4). Go's stoplockedm
    /// likewise clears its note after the sleep, not before.
    func waitForLockedGoroutine(_ m: Machine) -> Bool {
        if let p = m.processor {
            m.processor = nil
            handOff(p)
        }
        while true {
            lock.lock()
            if adoptHandedProcessorLocked(m) {   // nextSpinning is false for a locked handoff
                lock.unlock()
                return true
            }
            if stopping.load(ordering: .relaxed) {
                lock.unlock()
                return false
            }
            // A handoff from now on sets nextProcessor under this lock, then wakes us.
            m.prepareToPark()
            lock.unlock()
            _ = m.park(until: nil)
        }
    }

    /// Another M found `g`, locked to `target`: hand it our P (the goroutine
    /// travels implicitly: the target runs its locked goroutine) and go idle.
    func handOffToLockedMachine(_ g: Goroutine, _ target: Machine, from m: Machine) {
        let p = m.processor!
        m.processor = nil
        p.machine = target
        lock.lock()
        target.nextProcessor = p
        target.nextSpinning = false
        lock.unlock()
        target.wake()
        counters.add(.lockedHandoffs)
    }
}
