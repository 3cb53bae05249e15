// Every public operation that touches scheduler state runs with the calling
// goroutine's preemption disabled (ts_g.nopreempt > 0): the signal handler
// defers instead of switching, so runtime code never stops half-way with a lock
// held or a stale M pointer in a register. The counter lives in the G, not the
// M, so reading "my G" from TLS stays right even if the G moves to another M.
// When the count drops back to zero, a preemption deferred meanwhile is honoured
// at once (Caladan-style), and a sysmon request is honoured at the next point.
//
// Entering also checks ts_m.p_lost: sysmon may have taken this M's P while its
// goroutine was blocked in the kernel outside blockingCall (BlockedThread.swift).
// The check comes after the increment, with only a compiler barrier between
// them: sysmon's side of the handshake issues membarrier(2), so either it sees
// nopreempt > 0 and leaves the P alone, or this load sees its claim. Then
// reacquireLostProcessor gets a P before any runtime code runs.
import CTimeslice

/// The running goroutine's header, or nil on threads the runtime does not own.
@inline(__always)
func currentGoroutineHeader() -> UnsafeMutablePointer<ts_g>? { ts_current_g() }

@inline(__always)
func disablePreemption(_ g: UnsafeMutablePointer<ts_g>) {
    g.pointee.nopreempt += 1
    ts_signal_fence()
    // Preemption is off, so the G stays on this M: the TLS read is stable.
    if _slowPath(ts_load_u32_relaxed(&ts_current_m().unsafelyUnwrapped.pointee.p_lost) != 0) {
        reacquireLostProcessor(g)
    }
}

@inline(__always)
func enablePreemption(_ g: UnsafeMutablePointer<ts_g>) {
    ts_signal_fence()
    g.pointee.nopreempt -= 1
    ts_signal_fence()
    if g.pointee.nopreempt == 0 && ts_load_u32_relaxed(&g.pointee.preempt_pending) != 0 {
        honourDeferredPreemption(g)
    }
}

/// The running goroutine, with preemption disabled for the duration of `body`.
/// Traps with a clear message when called outside a goroutine.
@inline(__always)
func withRuntimeEntry<R>(_ operation: StaticString, _ body: (UnsafeMutablePointer<ts_g>, Machine) -> R) -> R {
    guard let g = ts_current_g() else {
        fatalError("timeslice: \(operation) must be called from a goroutine (inside Runtime.run)")
    }
    disablePreemption(g)
    if g.pointee.in_syscall != 0 {
        fatalError("timeslice: \(operation) called inside blockingCall; the body of blockingCall must not use the runtime")
    }
    defer { enablePreemption(g) }
    return body(g, Machine.current!)
}

/// Non-generic form of withRuntimeEntry for generic callers (Channel): disables
/// preemption and returns the goroutine and its M; the caller re-enables it.
@inline(__always)
func enterRuntime(_ operation: StaticString) -> UnsafeMutablePointer<ts_g> {
    guard let g = ts_current_g() else {
        fatalError("timeslice: \(operation) must be called from a goroutine (inside Runtime.run)")
    }
    disablePreemption(g)
    if g.pointee.in_syscall != 0 {
        fatalError("timeslice: \(operation) called inside blockingCall; the body of blockingCall must not use the runtime")
    }
    return g
}

/// Readies a parked goroutine from runtime code on an M, borrowing the M, its
/// scheduler and the goroutine at +0 (no reference counting).
@inline(__always)
func readyFromCurrentMachine(_ goroutine: UInt, next: Bool = true) {
    Unmanaged<Machine>.fromOpaque(ts_current_m().unsafelyUnwrapped.pointee.owner)._withUnsafeGuaranteedRef { m in
        m.schedulerRef._withUnsafeGuaranteedRef { scheduler in
            Unmanaged<Goroutine>.fromOpaque(UnsafeRawPointer(bitPattern: goroutine)!)._withUnsafeGuaranteedRef { g in
                scheduler.ready(g, next: next)
            }
        }
    }
}

/// Runs `body` with preemption disabled when called on a goroutine (for code
/// that takes a lock and may also run on threads the runtime does not own).
@inline(__always)
func withPreemptionDisabled<R>(_ body: () throws -> R) rethrows -> R {
    guard let g = ts_current_g() else { return try body() }
    disablePreemption(g)
    defer { enablePreemption(g) }
    return try body()
}

/// Runs `body` with the running goroutine not preemptible, as if it held a
/// thread-owned lock: for critical sections of locks whose fast path is inlined into
/// the caller and so never reaches the runtime's pthread interposition
/// (`Synchronization.Mutex`, hand-rolled atomics):
///
///     withNoPreemption { mutex.withLock { $0 += 1 } }
///
/// A preemption requested meanwhile is honoured when the outermost section ends.
/// Sections nest. The body must not block the goroutine (channels, sleep, WaitGroup,
/// ParkingMutex contention, yield): the runtime stops with a fatal error naming the
/// goroutine, since it could resume on another OS thread. On threads the runtime does
/// not own it simply runs `body`. Costs two thread-local adds.
public func withNoPreemption<R>(_ body: () throws -> R) rethrows -> R {
    ts_lock_enter()
    defer { ts_lock_exit() }
    return try body()
}

/// Switches the running goroutine (preemption disabled by the caller) to g0.
@inline(__always)
func switchToScheduler(_ reason: SwitchReason, releasing lock: RuntimeLock? = nil) {
    keepOnThreadIfInsideOnce(ts_current_g().unsafelyUnwrapped)
    let lockPointer = lock.map { Unmanaged.passUnretained($0).toOpaque() }
    ts_switch_to_g0(reason.rawValue, lockPointer)
}

/// A deferred async preemption, honoured as the G leaves runtime code, or as it
/// releases its last thread-owned lock (ts_locks.h). While the thread still holds
/// such a lock the bit stays pending: the last release honours it.
@inline(never)
func honourDeferredPreemption(_ g: UnsafeMutablePointer<ts_g>) {
    guard ts_lock_count() == 0 else { return }
    ts_store_u32(&g.pointee.preempt_pending, 0)
    ts_store_u32(&g.pointee.preempt_request, 0)
    disablePreemption(g)   // nopreempt was 0 a moment ago: the P may have been taken
    if let m = Machine.current {
        m.processor?.counters.add(.preemptionsHonoured)
        m.traceBuffer?.record(.preemptHonoured, a: g.pointee.id)
    }
    switchToScheduler(.preempted)
    g.pointee.nopreempt -= 1
    ts_signal_fence()
}
