// G: a goroutine. Its C header (ts_g) holds what the context switch and the
// signal handlers read; this object holds what only Swift code needs.
//
// Lifetime: a Goroutine is created once and recycled (with its stack) after it
// exits, like Go's gFree lists. Queues and wait lists refer to it by unretained
// pointer; the scheduler's `allGoroutines` keeps every one alive.
import CTimeslice

final class Goroutine {
    let header: UnsafeMutablePointer<ts_g>
    unowned(unsafe) let scheduler: Scheduler
    let stack: GoroutineStack
    /// The function the goroutine runs; set at spawn, cleared at exit. Owned by
    /// whoever holds the G (spawner, then the G itself).
    @exclusivity(unchecked) var body: (() -> Void)?
    /// Intrusive link for the global run queue and free lists (unretained pointer
    /// bits, 0 = none). Protected by whichever lock guards the list it is on.
    @exclusivity(unchecked) var schedLink: UInt = 0
    /// Set by a waker before readying a G parked on a channel: whether the
    /// operation completed (false: the channel was closed).
    @exclusivity(unchecked) var wakeSucceeded = false
    /// The M this G is locked to (LockOSThread), or nil. Written by the G itself
    /// (while running, preemption disabled); read by whichever M dequeues it.
    @exclusivity(unchecked) unowned(unsafe) var lockedMachine: Machine?
    /// Nesting counts of lockOSThread: the user's and the runtime's. The G only.
    @exclusivity(unchecked) var lockedExternal: UInt32 = 0
    @exclusivity(unchecked) var lockedInternal: UInt32 = 0

    /// 64 bytes (16-aligned) where a parked channel operation keeps its element:
    /// no allocation and no generic temporaries on the park path. Only this
    /// goroutine's own channel operation uses it, while it is parked.
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: Goroutine.scratchBytes, alignment: 16)
    static let scratchBytes = 64

    init(scheduler: Scheduler, stack: GoroutineStack) {
        self.scheduler = scheduler
        self.stack = stack
        header = .allocate(capacity: 1)
        header.initialize(to: ts_g())
        header.pointee.stack_lo = stack.low
        header.pointee.stack_hi = stack.high
        header.pointee.guard_lo = stack.guardLow
        header.pointee.owner = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        header.deallocate()
        scratch.deallocate()
    }

    var id: UInt64 { header.pointee.id }

    var opaque: UInt { UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()) }

    @inline(__always)
    static func from(opaque: UInt) -> Goroutine {
        Unmanaged<Goroutine>.fromOpaque(UnsafeRawPointer(bitPattern: opaque)!).takeUnretainedValue()
    }

    @inline(__always)
    static func from(header: UnsafeMutablePointer<ts_g>) -> Goroutine {
        Unmanaged<Goroutine>.fromOpaque(header.pointee.owner).takeUnretainedValue()
    }

    /// Prepares a fresh (or recycled) G to run `body` from the top of its stack.
    func prepare(id: UInt64, body: @escaping () -> Void) {
        self.body = body
        header.pointee.id = id
        header.pointee.nopreempt = 0
        header.pointee.in_syscall = 0
        header.pointee.preempt_request = 0
        header.pointee.preempt_pending = 0
        header.pointee.tlc = (nil, nil)
        header.pointee.sp = ts_context_make(stack.low, stack.high, goroutineEntry, header)
        wakeSucceeded = false
        lockedMachine = nil
        lockedExternal = 0
        lockedInternal = 0
    }
}

/// First Swift code on a new goroutine's stack. Runs the body in a nested call so
/// every Swift reference is released before the final switch, which never returns.
private let goroutineEntry: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    runGoroutineBody(raw!.assumingMemoryBound(to: ts_g.self))
    goroutineExit()
}

@inline(never)
private func runGoroutineBody(_ header: UnsafeMutablePointer<ts_g>) {
    let g = Goroutine.from(header: header)
    let body = g.body
    body?()
    // Release the closure (and whatever it captured) while still on this stack:
    // its deinitializers are user code.
    g.body = nil
}

/// Ends the running goroutine: switch to g0 for good. Only raw pointers here.
@inline(never)
private func goroutineExit() {
    let header = ts_current_g()!
    disablePreemption(header)   // reacquires a P taken while blocked (BlockedThread.swift)
    ts_switch_to_g0(SwitchReason.exit.rawValue, nil)
    fatalError("a dead goroutine was resumed")
}
