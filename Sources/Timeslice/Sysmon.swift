// sysmon: a dedicated thread without a P (Go's sysmon). It
//   - retakes the P of an M stuck in blockingCall for more than 20 µs and hands
//     it to another M, so one blocking goroutine never stalls the others;
//   - does the same for an M blocked in the kernel OUTSIDE blockingCall (a raw
//     system call, a foreign lock), which it recognises by its thread CPU clock,
//     and sends such an M no SIGURG (BlockedThread.swift);
//   - notices a G that has run longer than the time slice and asks it to stop
//     (Preemption.swift: polling flag or SIGURG, per the configured mode);
//   - wakes an M for overdue timers nobody attends to;
//   - polls the netpoller when goroutines wait on sockets and nobody polled
//     for 10 ms (NetpollScheduling.swift);
//   - prints schedtrace lines when asked.
// It sleeps 20 µs, doubling up to 10 ms while there is nothing to do; in polling
// and async modes a slice that starts while it sleeps past that slice's end wakes
// it (Scheduler.noteSliceStart), so a slice is enforced after an idle spell too,
// and so does a SIGURG handler that refused a signal and wants it re-sent
// (preempt.c); a signal nobody refused needs no second look, so a preempted
// slice costs sysmon one wake-up.
// Its wake word and "sleeps until" word are static C storage (ts_preempt.h):
// one runtime, hence one sysmon, at a time.
import CTimeslice
import Glibc
import Synchronization

final class Sysmon {
    unowned(unsafe) let scheduler: Scheduler
    /// Futex word sysmon sleeps on. Bit 0 asks the thread to stop (set once, by stop());
    /// every wake-up request adds 2 first, so a request made after sysmon read the word
    /// but before it entered the futex wait makes that wait return at once (no lost wake).
    /// Static C storage (ts_preempt.h): the SIGURG handler wakes sysmon too, when it
    /// refuses a signal (preempt.c ask_for_resend). Reset by init.
    private let wakeWord: UnsafeMutablePointer<UInt32> = ts_sysmon_wake_word()
    private let exitedWord = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private let header = UnsafeMutablePointer<ts_m>.allocate(capacity: 1)
    private var trace: SchedTrace?
    /// sysmon's own trace ring (requests and handoffs), this thread only.
    var traceBuffer: TraceBuffer?
    /// membarrier(PRIVATE_EXPEDITED) is registered: blocked-thread detection may
    /// take Ps (BlockedThread.swift). Set in init, read by sysmon only.
    let membarrierReady: Bool
    /// True while sysmon sleeps longer than a retake period: blockingCall then
    /// wakes it, so a blocked P is retaken after ~20 µs, not after a 10 ms back-off.
    let inLongSleep = Atomic<Bool>(false)
    /// Blocking calls shorter than this keep their P (Go: 20 µs, one sysmon tick).
    static let syscallRetakeNanoseconds: UInt64 = 20_000

    init(scheduler: Scheduler) {
        self.scheduler = scheduler
        ts_store_u32(wakeWord, 0)
        exitedWord.initialize(to: 0)
        header.initialize(to: ts_m())
        membarrierReady = ts_membarrier_register() == 0
        if let ms = scheduler.configuration.schedtraceMilliseconds, ms > 0 {
            trace = SchedTrace(scheduler: scheduler, intervalNanoseconds: UInt64(ms) * 1_000_000)
        }
    }

    deinit {
        exitedWord.deallocate()
        header.deallocate()
    }

    func start() {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, sysmonThreadMain, Unmanaged.passRetained(self).toOpaque())
        pthread_attr_destroy(&attributes)
        if rc != 0 { fatalError("timeslice: cannot start sysmon: \(String(cString: strerror(rc)))") }
    }

    /// Cuts a long sleep short (a P just entered a blocking call).
    func wakeIfSleepingLong() {
        if inLongSleep.load(ordering: .sequentiallyConsistent) { wake() }
    }

    /// A g0 started a slice whose watch ends at `deadline`, before sysmon's sleep does
    /// (Scheduler.noteSliceStart): wake it to watch the slice; one g0 of many does.
    func wakeForSlice(deadline: UInt64) {
        if ts_sysmon_wake_if_sleeping_past(deadline) != 0 { scheduler.counters.add(.sysmonSliceWakes) }
    }

    private func wake() { ts_sysmon_wake() }

    /// Asks the thread to stop and waits until it has.
    func stop() {
        _ = ts_fetch_add_u32(wakeWord, 1)
        _ = ts_futex_wake(wakeWord, 1)
        while ts_load_u32(exitedWord) == 0 { _ = ts_futex_wait(exitedWord, 0, 10_000_000) }
    }

    fileprivate func run() {
        _ = ts_thread_setup(header, 64 * 1024)
        _ = ts_thread_set_name("ts-sysmon")
        traceBuffer = scheduler.trace?.makeBuffer(name: "sysmon")
        if let plan = scheduler.placement.plan {
            scheduler.placement.apply(plan.sysmonCPUs, thread: "sysmon")
        }
        var delay: UInt64 = 20_000
        var idleRounds = 0
        while ts_load_u32(wakeWord) & 1 == 0 {
            var wait = delay
            let earliest = scheduler.earliestTimer()
            let now = ts_monotonic_ns()
            if earliest > now { wait = min(wait, max(earliest - now, 20_000)) }
            if let check = scheduler.preemption.nextCheck(scheduler.processors, now: now) {
                wait = min(wait, check > now ? max(check - now, 20_000) : 20_000)
            }
            if anyProcessorInSyscall() {
                wait = min(wait, Sysmon.syscallRetakeNanoseconds)
            }
            // Read the word before publishing the sleep: a wake-up request from here on
            // changes it, and the futex wait below then returns at once.
            let seen = ts_load_u32(wakeWord)
            if seen & 1 != 0 { break }
            inLongSleep.store(wait > 2 * Sysmon.syscallRetakeNanoseconds, ordering: .sequentiallyConsistent)
            ts_store_u64(scheduler.sysmonSleepsUntil, now &+ wait)
            _ = ts_futex_wait(wakeWord, seen, Int64(wait))
            scheduler.counters.add(.sysmonWakeups)
            ts_store_u64(scheduler.sysmonSleepsUntil, 0)
            inLongSleep.store(false, ordering: .relaxed)
            if ts_load_u32(wakeWord) & 1 != 0 { break }

            let tick = ts_monotonic_ns()
            let handedOff = retake(now: tick)
            scheduler.wakeForOverdueTimers(now: tick)
            scheduler.pollNetworkIfStale(now: tick, trace: traceBuffer)
            trace?.maybePrint(now: tick)
            // Only handoffs reset the back-off, as in Go: slice ends and re-sends
            // are scheduled precisely by nextCheck, so preempting costs one wake-up
            // per slice instead of a 20 µs poll.
            if handedOff {
                idleRounds = 0
                delay = 20_000
            } else {
                idleRounds += 1
                if idleRounds > 50 { delay = min(delay * 2, 10_000_000) }
            }
        }
        var cpu: UInt64 = 0
        if ts_thread_cpu_ns(ts_gettid(), &cpu) == 0 { scheduler.counters.add(.sysmonCPUNanoseconds, cpu) }
        ts_thread_teardown(header)
        ts_store_u32(exitedWord, 1)
        _ = ts_futex_wake(exitedWord, Int32.max)
    }

    /// Index loops with unowned(unsafe) bindings (the scheduler keeps every P alive): no
    /// reference counting on sysmon's per-wake-up path, which runs once per slice.
    private func anyProcessorInSyscall() -> Bool {
        let processors = scheduler.processors
        for index in processors.indices {
            unowned(unsafe) let p = processors[index]
            if p.currentStatus == .syscall { return true }
        }
        return false
    }

    /// Go's retake. Returns whether it handed off a P.
    private func retake(now: UInt64) -> Bool {
        var acted = false
        let processors = scheduler.processors
        for index in processors.indices {
            unowned(unsafe) let p = processors[index]
            switch p.currentStatus {
            case .syscall:
                if retakeSyscall(p, now: now) { acted = true }
            case .running:
                switch checkBlockedThread(p, now: now) {
                case .running:
                    scheduler.preemption.checkRunningProcessor(p, now: now, samples: scheduler.preemptionSamples,
                                                               trace: traceBuffer)
                case .blocked:
                    // Blocked in the kernel: a signal would only cause EINTR. Push an
                    // outstanding request's re-send back, so nextCheck does not make
                    // sysmon poll this P every 20 µs meanwhile.
                    if p.sysmonRequestPending { p.sysmonSignalAt = now }
                case .claimed:
                    // Now a P in a blocking call, blocked since the clock stood still.
                    if retakeSyscall(p, now: now) { acted = true }
                }
            case .idle, .stopped:
                p.sysmonScheduleSeen = 0
                p.sysmonSyscallSeen = 0
                p.sysmonRequestPending = false
                p.sysmonCPUSeenAt = 0
                p.sysmonThreadBlocked = false
                p.sysmonBlockedHandoffPending = false
            }
        }
        return acted
    }

    /// A P in `syscall` status: hands it to another M once its call has lasted
    /// 20 µs (unless nothing else could use it). Returns whether it did.
    private func retakeSyscall(_ p: Processor, now: UInt64) -> Bool {
        let tick = p.syscallTick.load(ordering: .relaxed)
        if p.sysmonSyscallTick != tick || p.sysmonSyscallSeen == 0 {
            p.sysmonSyscallTick = tick
            p.sysmonSyscallSeen = now
            return false
        }
        if now - p.sysmonSyscallSeen < Sysmon.syscallRetakeNanoseconds { return false }
        // No other work and others ready to take it: let the call keep its P a bit longer.
        let othersIdle = scheduler.spinningMachines.load(ordering: .relaxed)
            + scheduler.idleProcessorCount.load(ordering: .relaxed) > 0
        if p.hasNoLocalWork && scheduler.globalCount.load(ordering: .relaxed) == 0 && othersIdle
            && now - p.sysmonSyscallSeen < 10_000_000 {
            return false
        }
        guard p.status.compareExchange(expected: ProcessorStatus.syscall.rawValue,
                                       desired: ProcessorStatus.idle.rawValue,
                                       ordering: .acquiringAndReleasing).exchanged else { return false }
        // Taken from a thread blocked outside blockingCall (BlockedThread.swift)?
        if p.sysmonBlockedHandoffPending && p.sysmonBlockedSyscallTick == tick {
            scheduler.counters.add(.handoffsBlockedThread)
            traceBuffer?.record(.handoffBlockedThread, b: UInt32(p.id))
        } else {
            scheduler.counters.add(.handoffs)
            traceBuffer?.record(.handoff, b: UInt32(p.id))
        }
        p.sysmonBlockedHandoffPending = false
        p.sysmonSyscallSeen = 0
        scheduler.handOff(p)
        return true
    }
}

private let sysmonThreadMain: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { raw in
    let sysmon = Unmanaged<Sysmon>.fromOpaque(raw!).takeRetainedValue()
    sysmon.run()
    return nil
}
