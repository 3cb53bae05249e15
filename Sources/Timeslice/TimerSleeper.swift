// The scheduler's side of timers (the heaps themselves are in Timers.swift).
//
// Each P has a heap of sleeping Gs; `pendingTimers` counts the timers in all of
// them so the schedule path skips the clock and the heaps when there are none.
// Expired timers are run (their Gs readied) by the M holding the P at every
// schedule and by any M looking for work (FindRunnable.swift), and before a
// yielded or preempted G is requeued (MachineLoop.swift).
//
// The timer sleeper: at most one idle M parks with a timeout at the earliest
// deadline over all Ps (the first M to park in stopMachine takes the role);
// while goroutines wait on sockets it parks in epoll_wait with that timeout,
// so timers and I/O share this one sleep (NetpollScheduling.swift). A G
// that adds an earlier timer wakes it (timerMayNeedAttention, called from
// sleep(untilMonotonic:) in Runtime.swift); a P with timers going idle does the
// same (handOff, Idle.swift).
// Protocol: the sleeper publishes timerSleeperDeadline = .max *before* reading
// the heaps, and an adder stores the heap's `earliest` *before* reading
// timerSleeperDeadline, all sequentially consistent, so either the sleeper sees
// the new timer or the adder sees the sleeper and wakes it. sysmon is the safety
// net (wakeForOverdueTimers): an overdue timer and an idle P but nobody attending.
import CTimeslice

extension Scheduler {
    // MARK: Timer sleeper

    /// Caller holds `lock` and is parking `m` (stopMachine): if no M holds the
    /// timer-sleeper role, `m` takes it and gets the earliest deadline to park
    /// until (nil when no timer exists).
    func becomeTimerSleeperIfNoneLocked(_ m: Machine) -> UInt64? {
        guard timerSleeper == nil else { return nil }
        timerSleeper = m
        // Publish the role before reading the heaps (pairs with timerMayNeedAttention).
        timerSleeperDeadline.store(.max, ordering: .sequentiallyConsistent)
        let earliest = earliestTimer()
        timerSleeperDeadline.store(earliest, ordering: .sequentiallyConsistent)
        return earliest != .max ? earliest : nil
    }

    func clearTimerSleeperLocked() {
        timerSleeper = nil
        timerSleeperDeadline.store(0, ordering: .sequentiallyConsistent)
    }

    func earliestTimer() -> UInt64 {
        var earliest = UInt64.max
        for index in processors.indices {
            unowned(unsafe) let p = processors[index]
            earliest = min(earliest, p.timers.earliest.load(ordering: .sequentiallyConsistent))
        }
        return earliest
    }

    /// Runs the timers due on `source`: readies their Gs onto `target` (owned by
    /// the caller) and checks the socket deadlines among them (PollDescriptor.swift).
    func runExpiredTimers(of source: Processor, onto target: Processor, now: UInt64) {
        let due = source.timers.takeExpired(now: now)
        guard !due.isEmpty else { return }
        pendingTimers.wrappingSubtract(due.count, ordering: .sequentiallyConsistent)
        var readied = 0
        for entry in due {
            switch entry {
            case .goroutine(let g):
                putLocal(Goroutine.from(opaque: g), on: target, next: false)
                readied += 1
            case .pollDeadline(let pd, let generation, let mode):
                let (wake, armAt) = pd.deadlineTimerFired(mode, timerGeneration: generation, now: now)
                if wake != 0 {
                    putLocal(Goroutine.from(opaque: wake), on: target, next: false)
                    readied += 1
                }
                if armAt != 0 { armTimer(.pollDeadline(pd, generation: generation, mode: mode), at: armAt, on: target) }
            }
        }
        if readied > 1 { wakeIdleProcessor() }
    }

    /// Adds a timer that does not park its caller (a socket deadline) to `p`'s heap.
    func armTimer(_ target: TimerTarget, at deadline: UInt64, on p: Processor) {
        p.timers.lock.lock()
        pendingTimers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        p.timers.insertLocked(deadline: deadline, target: target)
        timerMayNeedAttention(deadline: deadline)
        p.timers.lock.unlock()
    }

    /// A timer due at `deadline` was added, or a P with timers went idle: wake the
    /// timer sleeper if it would sleep past it.
    func timerMayNeedAttention(deadline: UInt64) {
        let sleeperWakes = timerSleeperDeadline.load(ordering: .sequentiallyConsistent)
        guard sleeperWakes != 0, deadline < sleeperWakes else { return }
        lock.lock()
        guard let sleeper = timerSleeper else { lock.unlock(); return }
        clearTimerSleeperLocked()
        lock.unlock()
        sleeper.wake()
    }

    /// sysmon's safety net: an overdue timer and an idle P but nobody attending.
    func wakeForOverdueTimers(now: UInt64) {
        guard earliestTimer() <= now, idleProcessorCount.load(ordering: .sequentiallyConsistent) > 0 else { return }
        if timerSleeperDeadline.load(ordering: .sequentiallyConsistent) != 0 {
            timerMayNeedAttention(deadline: 0)
        } else {
            wakeIdleProcessor()
        }
    }
}
