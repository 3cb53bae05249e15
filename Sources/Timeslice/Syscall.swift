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
    if p.status.compareExchange(expected: ProcessorStatus.syscall.rawValue, desired: ProcessorStatus.running.rawValue,
                                ordering: .acquiringAndReleasing).exchanged {
        scheduler.acquire(p, by: m)
    } else if !scheduler.acquireIdleProcessor(for: m) {
        // No P free: g0 queues this G globally and the M goes idle. We resume
        // later on whichever M picks us up — unless this thread holds a thread-owned
        // lock (ts_locks.h, taken around the call): then the G is wired to this M
        // for the wait (LockOSThread's mechanism), so it resumes on the lock's owner.
        g.pointee.in_syscall = 0
        let wire = ts_lock_count() != 0
        if wire { lockOSThreadInternal(Goroutine.from(header: g), m) }
        switchToScheduler(.syscallNoProcessor)
        if wire { unlockOSThreadInternal(Goroutine.from(header: g), m) }
    }
    g.pointee.in_syscall = 0
    enablePreemption(g)
}
