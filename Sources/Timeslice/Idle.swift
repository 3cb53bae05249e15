// Idle Ps, idle Ms and the spinning protocol (Go's pidleput/pidleget, wakep,
// startm, handoffp, stopm, resetspinning).
//
// Idle Ps sit on `idleProcessors`, idle Ms on `idleMachines`, both under the
// scheduler's `lock`; `idleProcessorCount` and `spinningMachines` are atomics
// read without it.
//
// Spinning. An M without work spins (looks for work to steal, FindRunnable.swift)
// before it sleeps, so a newly readied G is picked up fast without waking a
// thread for every G. At most half the busy Ps' worth of Ms spin.
//
// Invariant (Go's): if there is runnable work and an idle P, at least one M is
// spinning or about to be woken. It holds because
//   - whoever makes work runnable (spawn, ready, expired timers, a G requeued
//     from a blocking call) calls wakeIdleProcessor(), which starts a spinning M
//     only when none spins (a CAS 0 -> 1 on spinningMachines, so at most one
//     wake-up races per burst);
//   - a spinning M that finds work stops spinning (stopSpinning) and, if it was
//     the last spinner, wakes another, since more work may be coming;
//   - the last spinning M to give up re-checks every run queue, the global queue
//     and the timers *after* decrementing spinningMachines (findRunnable's
//     idleProcessorIfWorkAppeared). Both sides use sequentially consistent
//     atomics, so of "queue a G, then load spinningMachines" and "decrement
//     spinningMachines, then look at the queues" at least one sees the other:
//     a G queued concurrently is seen either by the giving-up M or by the
//     queuer's wake-up.
// A P handed off from a blocking call (handOff) follows the same rule: it gets
// an M if it has work, or a spinning M if nobody spins and no P is idle.
//
// Ms never exit while the runtime runs (except one retired after its locked
// goroutine exited, MachineLoop.swift); an M with nothing to do parks in
// stopMachine, and the first to park becomes the timer sleeper.
import CTimeslice

extension Scheduler {
    // MARK: Idle Ps

    func pushIdleProcessorLocked(_ p: Processor) {
        p.machine = nil
        p.status.store(ProcessorStatus.idle.rawValue, ordering: .releasing)
        idleProcessors.append(p)
        idleProcessorCount.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    func lockedPopIdleProcessor() -> Processor? { lock.withLock { popIdleProcessorLocked() } }

    func popIdleProcessorLocked() -> Processor? {
        guard let p = idleProcessors.popLast() else { return nil }
        idleProcessorCount.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return p
    }

    func acquire(_ p: Processor, by m: Machine) {
        p.machine = m
        p.status.store(ProcessorStatus.running.rawValue, ordering: .releasing)
        m.processor = p
    }

    /// Gives `m` an idle P if there is one (an M returning from blockingCall
    /// whose own P was retaken; Syscall.swift).
    func acquireIdleProcessor(for m: Machine) -> Bool {
        if idleProcessorCount.load(ordering: .sequentiallyConsistent) == 0 { return false }
        guard let p = lockedPopIdleProcessor() else { return false }
        acquire(p, by: m)
        // The goroutine goes on running (no execute()) on a P that was idle: a new slice,
        // stamped so that sysmon does not take the P's last run for this one, and sysmon
        // woken if it sleeps past its end.
        if preemption.needsSysmonTicks {
            let now = ts_monotonic_ns()
            p.sliceStart.store(now, ordering: .relaxed)
            noteSliceStart(now: now)
        }
        return true
    }

    // MARK: Spinning and idle Ms

    /// Go's wakep: if a P is idle and no M spins, start a spinning M for it.
    @inline(__always)
    func wakeIdleProcessor() {
        if idleProcessorCount.load(ordering: .sequentiallyConsistent) == 0 { return }
        if spinningMachines.load(ordering: .sequentiallyConsistent) != 0 { return }
        if !spinningMachines.compareExchange(expected: 0, desired: 1, ordering: .sequentiallyConsistent).exchanged {
            return
        }
        startMachine(processor: nil, spinning: true)
    }

    /// Go's startm: runs `processor` (or an idle P) on an idle or new M. When
    /// `spinning`, the caller already counted the M in spinningMachines.
    func startMachine(processor: Processor?, spinning: Bool) {
        lock.lock()
        guard let p = processor ?? popIdleProcessorLocked() else {
            lock.unlock()
            if spinning { spinningMachines.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
            return
        }
        if let m = takeIdleMachineLocked() {
            if timerSleeper === m { clearTimerSleeperLocked() }
            m.nextProcessor = p
            m.nextSpinning = spinning
            lock.unlock()
            m.wake()
        } else {
            let m = newMachineLocked(processor: p, spinning: spinning)
            lock.unlock()
            _ = m
        }
    }

    /// Caller holds `lock`: removes an idle M to run a P, preferring one not blocked
    /// in epoll_wait (Go's poller is not on the idle list): taking the poller costs an
    /// eventfd interrupt and another M's wake-up to take its place.
    func takeIdleMachineLocked() -> Machine? {
        guard let index = idleMachines.lastIndex(where: { !$0.blockedInNetpoll.load(ordering: .sequentiallyConsistent) })
                ?? idleMachines.indices.last else { return nil }
        return idleMachines.remove(at: index)
    }

    /// Creates and starts a new M that will run `processor`. Caller holds `lock`.
    func newMachineLocked(processor: Processor, spinning: Bool) -> Machine {
        let m = Machine(id: machines.count, scheduler: self)
        m.nextProcessor = processor
        m.nextSpinning = spinning
        machines.append(m)
        counters.add(.threadsCreated)
        _ = ts_fetch_add_u32(liveThreads, 1)
        m.startThread()
        return m
    }

    /// Go's handoffp: decides what to do with a P taken from an M in a blocking call.
    func handOff(_ p: Processor) {
        if !p.hasNoLocalWork || globalCount.load(ordering: .sequentiallyConsistent) > 0 {
            startMachine(processor: p, spinning: false)
            return
        }
        if spinningMachines.load(ordering: .sequentiallyConsistent) + idleProcessorCount.load(ordering: .sequentiallyConsistent) == 0,
           spinningMachines.compareExchange(expected: 0, desired: 1, ordering: .sequentiallyConsistent).exchanged {
            startMachine(processor: p, spinning: true)
            return
        }
        lock.lock()
        if globalCount.load(ordering: .relaxed) > 0 {
            lock.unlock()
            startMachine(processor: p, spinning: false)
            return
        }
        pushIdleProcessorLocked(p)
        lock.unlock()
        timerMayNeedAttention(deadline: p.timers.earliest.load(ordering: .sequentiallyConsistent))
    }

    /// A spinning M found work: it stops spinning, and if it was the last spinner
    /// it wakes another, since more work may be coming (Go's resetspinning).
    func stopSpinning(_ m: Machine) {
        m.spinning = false
        let remaining = spinningMachines.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue
        precondition(remaining >= 0, "spinning count went negative")
        if remaining == 0 { wakeIdleProcessor() }
    }

    /// Parks an M that has no P until someone hands it one (true) or the runtime
    /// stops (false). The first idle M becomes the timer sleeper: it parks until
    /// the earliest timer. Any idle M parks in epoll_wait while goroutines wait on
    /// sockets and no other M does (Go's findRunnable: the M about to stop becomes
    /// the poller if lastpoll is free; NetpollScheduling.swift), else on its futex.
    func stopMachine(_ m: Machine) -> Bool {
        // This M blocks in epoll_wait below unless another M already does: the wake-up
        // a first socket waiter of its own left it to pay is not needed.
        m.owesNetpoller = false
        netpoller.handover.cameBack(m.id)
        lock.lock()
        if stopping.load(ordering: .relaxed) { lock.unlock(); return false }
        m.prepareToPark()
        idleMachines.append(m)
        // The first idle M parks with a timeout for the earliest timer (TimerSleeper.swift).
        var deadline = becomeTimerSleeperIfNoneLocked(m)
        lock.unlock()
        m.counters.add(.idleSleeps)

        while true {
            var readied: [UInt] = []
            if let fromPoll = sleepInNetpoll(m, until: deadline) {
                readied = fromPoll
            } else {
                _ = m.park(until: deadline)
            }
            m.counters.add(.idleWakeups)
            lock.lock()
            if adoptHandedProcessorLocked(m) {
                lock.unlock()
                takeReadied(readied, holding: m.processor!)
                if !readied.isEmpty { netpollerLeftToRun(m) }
                return true
            }
            if stopping.load(ordering: .relaxed) {
                lock.unlock()
                return false
            }
            // Woken for timers or I/O (or a stale wake): leave the idle list and
            // try to run them on an idle P; with none free, the busy Ms will
            // (readied goroutines wait in the global queue).
            if timerSleeper === m { clearTimerSleeperLocked() }
            if let index = idleMachines.firstIndex(where: { $0 === m }) { idleMachines.remove(at: index) }
            if let p = popIdleProcessorLocked() {
                acquire(p, by: m)
                lock.unlock()
                takeReadied(readied, holding: p)
                if !readied.isEmpty { netpollerLeftToRun(m) }
                return true
            }
            for entry in readied { appendGlobalLocked(entry) }
            m.prepareToPark()
            idleMachines.append(m)
            deadline = nil
            lock.unlock()
            // No P: park again, in epoll_wait if it is free (a poller without a P
            // stays the poller, so readiness is seen while every P is busy).
        }
    }

    /// Caller holds `lock`: adopts the P that startMachine or a locked-goroutine
    /// handoff left in `m.nextProcessor`, if any.
    func adoptHandedProcessorLocked(_ m: Machine) -> Bool {
        guard let p = m.nextProcessor else { return false }
        m.nextProcessor = nil
        m.spinning = m.nextSpinning
        acquire(p, by: m)
        return true
    }
}
