// blockingCall: Go's entersyscall/exitsyscall around a call that may block in
// the kernel. Entering gives up the P without switching (the G keeps running on
// its M); sysmon retakes a P left in `syscall` status for more than 20 µs and
// hands it to another M. Leaving takes the old P back if nobody took it, else
// any idle P (Scheduler.acquireIdleProcessor, Idle.swift), else queues the G
// globally and parks the M.
import CTimeslice

/// Runs `body`, a call that may block in the kernel, without holding a P, so the
/// other goroutines keep running. `body` must not call into the runtime.
/// Outside a goroutine it simply runs `body`.
public func blockingCall<T>(_ body: () throws -> T) rethrows -> T {
    guard let g = ts_current_g() else { return try body() }
    enterBlockingCall(g)
    defer { exitBlockingCall(g) }
    return try body()
}

/// Preemption stays disabled for the whole call: a G in a system call must not
/// be switched out by the signal handler.
@inline(never)
func enterBlockingCall(_ g: UnsafeMutablePointer<ts_g>) {
    disablePreemption(g)
    precondition(g.pointee.in_syscall == 0, "timeslice: nested blockingCall")
    g.pointee.in_syscall = 1
    let m = Machine.current!
    let p = m.processor!
    p.syscallTick.wrappingAdd(1, ordering: .relaxed)
    m.previousProcessor = p
    m.processor = nil
    p.machine = nil
    // From here on whoever CASes the status out of `syscall` owns the P.
    p.status.store(ProcessorStatus.syscall.rawValue, ordering: .sequentiallyConsistent)
    m.scheduler.sysmon.wakeIfSleepingLong()
}

@inline(never)
func exitBlockingCall(_ g: UnsafeMutablePointer<ts_g>) {
    let m = Machine.current!
    let scheduler = m.scheduler
    let p = m.previousProcessor!
    m.previousProcessor = nil
    g.pointee.in_syscall = 0
    scheduler.reacquireProcessor(g, on: m, previous: p)
    enablePreemption(g)
}

extension Scheduler {
    /// The way back to a P for a G that ran without one (blockingCall's exit, and
    /// a G whose P sysmon took while it was blocked outside blockingCall,
    /// BlockedThread.swift). Preemption is disabled. Takes `previous` back if it
    /// is still in `syscall` status, else any idle P; else g0 queues this G
    /// globally and the M goes idle, and the G resumes later on whichever M picks
    /// it up, holding that M's P — unless this thread holds a thread-owned lock
    /// (ts_locks.h): then the G is wired to this M for the wait (LockOSThread's
    /// mechanism), so it resumes on the lock's owner.
    func reacquireProcessor(_ g: UnsafeMutablePointer<ts_g>, on m: Machine, previous p: Processor?) {
        if let p, p.status.compareExchange(expected: ProcessorStatus.syscall.rawValue,
                                           desired: ProcessorStatus.running.rawValue,
                                           ordering: .acquiringAndReleasing).exchanged {
            acquire(p, by: m)
        } else if !acquireIdleProcessor(for: m) {
            let wire = ts_lock_count() != 0
            if wire { lockOSThreadInternal(Goroutine.from(header: g), m) }
            switchToScheduler(.syscallNoProcessor)
            if wire { unlockOSThreadInternal(Goroutine.from(header: g), m) }
        }
    }
}
