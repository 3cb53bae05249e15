// Finding work and stealing (Go's findRunnable, stealWork).
//
// findRunnable, in order: own P's expired timers; every 61st tick one G from
// the global queue (so the global queue is never starved by two Gs ping-ponging
// through runnext); every 31st, the netpoller without blocking when nobody blocks
// in epoll_wait; own runnext and run queue; the global queue; every other
// P's expired timers; the netpoller without blocking, when goroutines wait on
// sockets (NetpollScheduling.swift); then, as a *spinning* M (Idle.swift), half of a victim's
// run queue, victims in random coprime order (StealOrder.swift), NUMA-local
// victims first on a NUMA placement; finally give up the P, re-check under the
// spinning protocol and park (stopMachine, Idle.swift).
//
// Stealing goes through the victim's RunQueueStealer into the thief's own
// RunQueueOwner (RunQueue.swift): only the M holding a P touches its owner handle.
import CTimeslice

extension Scheduler {
    // MARK: findRunnable

    /// Returns the next G for `m` to run, blocking (parking the M) until there is
    /// one; nil when the runtime shuts down. Go's findRunnable.
    func findRunnable(_ m: Machine) -> (UInt, Bool)? {
        top: while true {
            if stopping.load(ordering: .relaxed) {
                if let p = m.processor {
                    p.status.store(ProcessorStatus.stopped.rawValue, ordering: .releasing)
                    p.machine = nil
                    m.processor = nil
                }
                if m.spinning {
                    m.spinning = false
                    spinningMachines.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                }
                return nil
            }
            guard let pRef = m.processorRef else {
                if !stopMachine(m) { return nil }
                continue top
            }
            let found = pRef._withUnsafeGuaranteedRef { p in findLocalWork(m, p) }
            if let found { return found }
            unowned(unsafe) let p = m.processor!
            let anyTimer = pendingTimers.load(ordering: .sequentiallyConsistent) > 0
            let now = anyTimer ? ts_monotonic_ns() : 0
            // Other Ps' expired timers, whatever the spinning budget: a sleeper must
            // not wait for an M that happens to have nothing else to do.
            if anyTimer {
                for index in processors.indices {
                    unowned(unsafe) let other = processors[index]
                    if other !== p { runExpiredTimers(of: other, onto: p, now: now) }
                }
            }
            if let (entry, inherits) = p.runQueue.pop() { return (entry, inherits) }
            // Goroutines whose sockets became ready, before stealing (NetpollScheduling.swift).
            if let g = pollNetworkWithoutBlocking(m, holding: p) { return (g.opaque, false) }

            // Steal, as a spinning M, if not too many already spin.
            let busy = maxProcs - idleProcessorCount.load(ordering: .sequentiallyConsistent)
            if m.spinning || 2 * spinningMachines.load(ordering: .sequentiallyConsistent) < busy {
                if !m.spinning {
                    m.spinning = true
                    spinningMachines.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    m.counters.add(.spins)
                }
                if let g = stealWork(m, into: p) { return (g.opaque, false) }
            }

            // Nothing: give up the P, then re-check under the spinning protocol.
            lock.lock()
            if stopping.load(ordering: .relaxed) { lock.unlock(); continue top }
            if let g = takeGlobalLocked(into: p, max: 0) {
                lock.unlock()
                return (g.opaque, false)
            }
            m.processor = nil
            pushIdleProcessorLocked(p)
            lock.unlock()

            if m.spinning {
                m.spinning = false
                spinningMachines.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                // Anything queued before our decrement is visible now; anything after
                // it will see spinningMachines == 0 and wake someone.
                if let p2 = idleProcessorIfWorkAppeared(now: ts_monotonic_ns()) {
                    acquire(p2, by: m)
                    m.spinning = true
                    spinningMachines.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    continue top
                }
            }
            if !stopMachine(m) { return nil }
        }
    }

    /// The local part of findRunnable (own timers, fairness tick, own queue,
    /// global queue), with the P borrowed at +0.
    @inline(__always)
    fileprivate func findLocalWork(_ m: Machine, _ p: Processor) -> (UInt, Bool)? {
        // Read the clock only when some timer exists (a vDSO call costs more
        // than the rest of a yield).
        let anyTimer = pendingTimers.load(ordering: .sequentiallyConsistent) > 0
        let now = anyTimer ? ts_monotonic_ns() : 0
        if anyTimer { runExpiredTimers(of: p, onto: p, now: now) }

        // Fairness: now and then look at the global queue first.
        let tick = p.scheduleTick.load(ordering: .relaxed)
        if tick % 61 == 0, let g = takeGlobal(into: p, max: 1) {
            return (g.opaque, false)
        }
        // And at the network, when nobody blocks in epoll_wait (NetpollScheduling.swift).
        if tick % Scheduler.netpollScheduleInterval == 0, let g = pollNetworkWithoutBlocking(m, holding: p) {
            return (g.opaque, false)
        }
        if let (entry, inherits) = p.runQueue.pop() { return (entry, inherits) }
        if let g = takeGlobal(into: p, max: 0) { return (g.opaque, false) }
        return nil
    }

    /// After giving up spinning: if some run queue, the global queue or an overdue
    /// timer has work, take an idle P back to go and get it.
    fileprivate func idleProcessorIfWorkAppeared(now: UInt64) -> Processor? {
        let work = globalCount.load(ordering: .sequentiallyConsistent) > 0
            || processors.contains { !$0.hasNoLocalWork || $0.timers.earliest.load(ordering: .sequentiallyConsistent) <= now }
        guard work else { return nil }
        return lock.withLock { popIdleProcessorLocked() }
    }

    // MARK: Stealing

    /// Steals half of some victim's run queue (up to 4 rounds; runnext only in the
    /// last). Go's stealWork. On a NUMA placement, each round first visits the
    /// victims on the thief's own node, then the others (`forEachStealVictim`).
    fileprivate func stealWork(_ m: Machine, into p: Processor) -> Goroutine? {
        forEachStealVictim(thief: p, random: &m.random) { index, lastRound in
            let victim = processors[index]
            guard let (entry, count) = victim.runQueueStealer.steal(into: p.runQueue, stealRunnext: lastRound) else { return nil }
            p.counters.add(.steals, UInt64(count))
            m.traceBuffer?.record(.steal, a: UInt64(count), b: UInt32(index))
            return Goroutine.from(opaque: entry)
        }
    }

    /// The one steal order (stealWork uses it; `Runtime.stealVisitOrder` reports it): calls
    /// `visit(victim index, last round)` for every other P until it returns non-nil. Each
    /// round is a random coprime enumeration (StealOrder); on a NUMA placement a round is
    /// two passes, first the victims on the thief's node, then the rest. Stops early (nil)
    /// when the scheduler is stopping.
    @inline(__always)
    func forEachStealVictim<T>(thief p: Processor, random: inout FastRandom, _ visit: (Int, Bool) -> T?) -> T? {
        let numaAware = placement.isNUMAAware
        let myNode = placement.node(ofWorker: p.id)
        for round in 0..<(numaAware ? 8 : 4) {
            let lastRound = round >= (numaAware ? 6 : 3)
            let localPass = numaAware && round % 2 == 0
            for index in stealOrder.visit(random: random.next()) {
                if stopping.load(ordering: .relaxed) { return nil }
                if index == p.id { continue }
                if numaAware && (placement.node(ofWorker: index) == myNode) != localPass { continue }
                if let found = visit(index, lastRound) { return found }
            }
        }
        return nil
    }
}
