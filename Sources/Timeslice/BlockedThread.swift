// Blocked-thread detection: a goroutine blocked in the kernel OUTSIDE
// blockingCall (a raw read/poll/nanosleep, a foreign library's lock or futex)
// still holds its P in `running` status. Without this, sysmon would keep
// signalling it (EINTR storms in calls the kernel does not restart) and never
// free its P, so at maxProcs 1 every other goroutine starves.
//
// Detection (sysmon, each check of a `running` P whose run is watched: every run
// in cooperative mode, else a run still running after its slice's request, so a
// goroutine that yields to its first signal costs nothing). The thread's own CPU clock
// (CPUCLOCK_SCHED of its tid, ts_thread_cpu_ns: one clock_gettime, no file) is
// compared with the last check of the same run (same scheduleTick, same
// goroutine id, checks >= 20 µs apart). If it advanced by less than 1/4 of the
// wall time between them, the thread is judged *mostly blocked*: from then on
// sysmon sends it no SIGURG (a signal would only make the call return EINTR,
// and the few µs of CPU an EINTR costs must not make the thread look busy
// again, hence a ratio and not "stood still exactly"). A CPU clock that stands
// still is also what a runnable thread descheduled by the kernel shows, so
// before taking the P sysmon confirms with /proc/self/task/<tid>/stat that the
// thread sleeps in the kernel (S or D); the file read happens only for
// candidates, so the common path costs one clock read per running P per check.
//
// Taking the P (claim). The G may wake and enter the runtime at any moment, and
// runtime code uses the P freely; so sysmon and the G run an asymmetric Dekker
// handshake on ts_m.p_lost, the G's side costing no fence:
//   G (every runtime entry, disablePreemption, RuntimeEntry.swift):
//       nopreempt += 1; compiler barrier; if p_lost != 0 { slow path }
//   sysmon: CAS p_lost 0 -> 1; membarrier(PRIVATE_EXPEDITED) (a full barrier
//       on every running thread of the process); then if the G is still the
//       M's curg, same id, nopreempt == 0, not in blockingCall, same tick:
//       CAS p_lost 1 -> 2 (commit), else CAS 1 -> 0 (retract).
// After the membarrier either sysmon sees the G's nopreempt > 0 (it is in
// runtime code: retract), or the G's next entry sees p_lost != 0. The G's slow
// path CASes 1 -> 0 (cancelling a claim not yet committed) or finds 2. The
// SIGURG handler's safe-point redirection increments nopreempt too, and the
// callback it redirects to checks p_lost first (AsyncPreemption.swift). A G that
// switched out always has nopreempt > 0 (it left from runtime code or from the
// trampoline), so a claim never races with g0 using the P; a goroutine that
// exited or was recycled changes curg or its id, both re-read after the barrier.
//
// On commit sysmon turns the P into `syscall` status exactly as if the G had
// entered blockingCall (p.machine = nil, syscallTick bumped) and runs the
// ordinary syscall retake on it at once (Sysmon.retakeSyscall): it is handed to
// another M if there is work, or left in `syscall` for the G to take back by CAS.
// Counted as handoffs_blocked_thread (not handoffs), traced as
// "handoff (blocked thread)".
//
// Coming back. The G, back from the kernel, runs user code with no P. That is
// allowed (as in blockingCall's body); runtime code is not. The first point
// where the runtime gets control reacquires one (reacquireLostProcessor): any
// runtime entry (disablePreemption at nopreempt 0 -> 1: every withRuntimeEntry,
// enterRuntime, blockingCall, yield, preemptionPoint, a deferred preemption
// honoured, goroutine exit) and the async-preemption callback. It does what
// blockingCall's exit does: take the old P back if still in `syscall`, else any
// idle P, else queue the G globally and let the M go idle
// (Scheduler.reacquireProcessor, Syscall.swift).
//
// What is not covered: a goroutine that never re-enters the runtime keeps
// running without a P (it may use more than maxProcs CPUs, like a blockingCall
// body, and is not preempted); detection needs membarrier(2) with
// PRIVATE_EXPEDITED (Linux >= 4.14), otherwise it is off. Nothing in preempt.c
// changes: the handler already never redirects a G with nopreempt > 0, and a
// redirection of a G whose P was taken lands in the callback, which reacquires.
import CTimeslice
import Glibc
import Synchronization

enum BlockedThreadVerdict {
    case running   // on CPU (or unknown): the usual slice checks apply
    case blocked   // mostly blocked in the kernel: do not signal it
    case claimed   // the P was taken and is now in `syscall` status
}

extension Sysmon {
    /// On unless TIMESLICE_BLOCKED_THREAD_DETECTION=0 (to measure the runtime
    /// without it) or a test turns it off; ignored when membarrier is missing.
    static let blockedThreadDetection = Atomic<Bool>(getenv("TIMESLICE_BLOCKED_THREAD_DETECTION").map { String(cString: $0) != "0" } ?? true)
    /// A thread that used less than wall / this of CPU between two checks is mostly blocked.
    /// 1/4, not "stood still": each EINTR a signal sent before the judgement
    /// causes costs the thread a few µs, and at 1/16 a 20-40 µs window still
    /// looked busy, so sysmon kept re-sending (measured: 5 signals per blocked
    /// run instead of 1-2). A runnable thread the kernel descheduled can pass
    /// this test too; it then merely is not signalled for one window, and the
    /// /proc check keeps its P.
    static let blockedCPUFraction: UInt64 = 4

    /// sysmon, for a P in `running` status (see the file comment).
    func checkBlockedThread(_ p: Processor, now: UInt64) -> BlockedThreadVerdict {
        guard membarrierReady, Sysmon.blockedThreadDetection.load(ordering: .relaxed),
              let m = p.machine, let g = ts_load_curg(m.header) else {
            p.sysmonCPUSeenAt = 0
            p.sysmonThreadBlocked = false
            return .running
        }
        let tick = p.scheduleTick.load(ordering: .relaxed)
        // Which runs are watched: in cooperative mode every run (sysmon wakes
        // rarely there); otherwise only a run that outlived its slice and still has
        // an outstanding request. A CPU-bound goroutine preempted at its first
        // signal thus costs no clock read: reading another thread's CPU clock takes
        // its run-queue lock, which at a 100 µs slice measurably slowed the hog.
        let mode = scheduler.preemption.mode
        guard mode == .cooperative || (p.sysmonRequestPending && p.sysmonRequestTick == tick) else {
            p.sysmonCPUSeenAt = 0
            p.sysmonThreadBlocked = false
            return .running
        }
        let id = g.pointee.id
        let tid = m.header.pointee.tid
        if tick != p.sysmonBlockedTick || id != p.sysmonBlockedGoroutine || p.sysmonCPUSeenAt == 0 {
            var cpu: UInt64 = 0
            guard ts_thread_cpu_ns(tid, &cpu) == 0 else { return .running }
            p.sysmonBlockedTick = tick
            p.sysmonBlockedGoroutine = id
            p.sysmonCPUTime = cpu
            p.sysmonCPUSeenAt = now
            p.sysmonThreadBlocked = false
            // With a request outstanding, hold its re-send for one window: if the
            // thread is blocked, a re-send would only be another EINTR.
            return mode == .cooperative ? .running : .blocked
        }
        let wall = now &- p.sysmonCPUSeenAt
        if wall >= Sysmon.syscallRetakeNanoseconds {
            var cpu: UInt64 = 0
            guard ts_thread_cpu_ns(tid, &cpu) == 0 else { return .running }
            p.sysmonThreadBlocked = (cpu &- p.sysmonCPUTime) &* Sysmon.blockedCPUFraction < wall
            p.sysmonCPUTime = cpu
            p.sysmonCPUSeenAt = now
        }
        guard p.sysmonThreadBlocked else { return .running }
        // Mostly blocked: no signal. Take the P only while the G is outside the
        // runtime and the thread really sleeps in the kernel right now.
        guard g.pointee.nopreempt == 0, g.pointee.in_syscall == 0 else { return .blocked }
        var sleeping: Int32 = 0
        guard ts_thread_sleeping(tid, &sleeping) == 0, sleeping != 0 else { return .blocked }
        return claim(p, from: m, running: g, id: id, tick: tick) ? .claimed : .blocked
    }

    /// The handshake of the file comment; true when the P is now in `syscall` status.
    private func claim(_ p: Processor, from m: Machine, running g: UnsafeMutablePointer<ts_g>,
                       id: UInt64, tick: UInt32) -> Bool {
        let word = UnsafeMutableRawPointer(m.header)
            .advanced(by: MemoryLayout<ts_m>.offset(of: \ts_m.p_lost)!).assumingMemoryBound(to: UInt32.self)
        guard ts_cas_u32(word, 0, 1) else { return false }
        guard ts_membarrier() == 0 else {
            _ = ts_cas_u32(word, 1, 0)
            return false
        }
        if ts_load_curg(m.header) != g || g.pointee.id != id || g.pointee.nopreempt != 0
            || g.pointee.in_syscall != 0 || p.scheduleTick.load(ordering: .relaxed) != tick {
            _ = ts_cas_u32(word, 1, 0)   // fails harmlessly if the G cancelled first
            return false
        }
        guard ts_cas_u32(word, 1, 2) else { return false }   // the G cancelled: it is back
        // Committed: the M touches this P again only through reacquireLostProcessor.
        // From here on it is a P in a blocking call (Syscall.swift).
        let syscallTick = p.syscallTick.wrappingAdd(1, ordering: .relaxed).newValue
        p.machine = nil
        p.status.store(ProcessorStatus.syscall.rawValue, ordering: .sequentiallyConsistent)
        p.sysmonBlockedSyscallTick = syscallTick
        p.sysmonBlockedHandoffPending = true
        p.sysmonSyscallTick = syscallTick
        p.sysmonSyscallSeen = p.sysmonCPUSeenAt   // blocked at least since then
        p.sysmonCPUSeenAt = 0
        p.sysmonThreadBlocked = false
        p.sysmonRequestPending = false
        traceBuffer?.record(.blockedThread, a: id, b: UInt32(p.id))
        return true
    }
}

/// The G side: called with preemption disabled (nopreempt >= 1) when ts_m.p_lost
/// was seen non-zero. Cancels a claim sysmon has not committed, or, when it has,
/// reacquires a P as blockingCall's exit does. Returns true when the P had been
/// taken (the G may now run on another M).
@inline(never)
@discardableResult
func reacquireLostProcessor(_ g: UnsafeMutablePointer<ts_g>) -> Bool {
    let m = Machine.current!
    let word = UnsafeMutableRawPointer(m.header)
        .advanced(by: MemoryLayout<ts_m>.offset(of: \ts_m.p_lost)!).assumingMemoryBound(to: UInt32.self)
    if ts_cas_u32(word, 1, 0) { return false }       // sysmon had not committed: keep the P
    guard ts_load_u32(word) == 2 else { return false }
    let lost = m.processor
    m.processor = nil
    ts_store_u32(word, 0)
    m.counters.add(.blockedThreadReturns)
    m.traceBuffer?.record(.blockedThreadReturn, a: g.pointee.id)
    m.scheduler.reacquireProcessor(g, on: m, previous: lost)
    return true
}
