// Scheduler counters. Each P and M bumps its own with relaxed atomics (a plain
// add on x86, no contention); readers sum them at any time.
import Synchronization

/// A snapshot of the runtime's counters, summed over every P and M.
public struct RuntimeCounters: Codable, Sendable, Equatable {
    /// Goroutine switches (a G started or resumed on an M).
    public var switches: UInt64 = 0
    /// Goroutines taken from another P's run queue.
    public var steals: UInt64 = 0
    /// Goroutines parked (channel, timer, mutex, wait group).
    public var parks: UInt64 = 0
    /// Ps retaken from an M blocked in blockingCall and handed to another M.
    public var handoffs: UInt64 = 0
    /// Ps taken from an M whose goroutine was blocked in the kernel outside
    /// blockingCall (a raw system call, a foreign lock; BlockedThread.swift).
    public var handoffsBlockedThread: UInt64 = 0
    /// Goroutines that found their P taken that way and reacquired one.
    public var blockedThreadReturns: UInt64 = 0
    /// Times sysmon woke up (its timed sleep ended or someone woke it): what keeping
    /// slices costs the CPU sysmon runs on. A preempted slice should cost one.
    public var sysmonWakeups: UInt64 = 0
    /// CPU time sysmon's thread used, ns, counted when it stops (0 while it runs): with
    /// sysmonWakeups, what watching the slices cost the CPU it runs on.
    public var sysmonCPUNanoseconds: UInt64 = 0
    /// Times a slice start woke sysmon from a sleep that would have outlasted the slice
    /// (after an idle spell or its back-off; Scheduler.noteSliceStart).
    public var sysmonSliceWakes: UInt64 = 0
    /// Goroutines wired to their thread because they switched out inside a lazy
    /// static's initializer (swift_once; OnceInitializers.swift).
    public var onceWirings: UInt64 = 0
    /// Times an M started spinning (looking for work to steal).
    public var spins: UInt64 = 0
    /// Times an M went to sleep for lack of work.
    public var idleSleeps: UInt64 = 0
    /// Times an idle M woke up (its futex or epoll_wait returned: woken by another
    /// thread, by I/O, by its timer deadline), whether it then ran work or slept again.
    public var idleWakeups: UInt64 = 0
    /// Goroutines created.
    public var spawns: UInt64 = 0
    /// Calls to yield().
    public var yields: UInt64 = 0
    /// Half-queue overflows moved to the global queue.
    public var overflows: UInt64 = 0
    /// Preemption requests made by sysmon (polling or async mode).
    public var preemptionsRequested: UInt64 = 0
    /// Preemptions that switched the goroutine out.
    public var preemptionsDelivered: UInt64 = 0
    /// Signals that arrived at an unsafe point and were left pending.
    public var preemptionsDeferred: UInt64 = 0
    /// Deferred preemptions later honoured when the goroutine left runtime code.
    public var preemptionsHonoured: UInt64 = 0
    /// Signals that found no goroutine to stop (it had already switched out).
    public var preemptionsDropped: UInt64 = 0
    /// Signals re-sent because the goroutine was in foreign code (libc, Swift runtime).
    public var preemptionsResent: UInt64 = 0
    /// Signals that landed in foreign code and were left for sysmon to resend.
    public var preemptionsForeign: UInt64 = 0
    /// The refusals above (preemptionsForeign) and deferrals (preemptionsDeferred), by
    /// reason (TS_REFUSE_* in ts_preempt.h): the PC in foreign code (the runtime, stdlib,
    /// Foundation, Dispatch, CF, ICU, libc, the vDSO, wherever linked)...
    public var preemptionsRefusedForeignPC: UInt64 = 0
    /// ...a foreign caller on the frame-pointer chain (a callback)...
    public var preemptionsRefusedForeignCaller: UInt64 = 0
    /// ...a chain that does not reach the goroutine's entry frame (code without frame pointers)...
    public var preemptionsRefusedBrokenChain: UInt64 = 0
    /// ...a chain longer than TS_CHAIN_MAX_FRAMES...
    public var preemptionsRefusedDeep: UInt64 = 0
    /// ...too little stack left for the trampoline's save area...
    public var preemptionsRefusedStackSpace: UInt64 = 0
    /// ...deferred: a thread-owned lock held (lock_interpose.c)...
    public var preemptionsDeferredLockHeld: UInt64 = 0
    /// ...deferred: runtime code (nopreempt) or blockingCall.
    public var preemptionsDeferredRuntimeSection: UInt64 = 0
    /// Times code on a runtime thread tried to block SIGURG (stripped from the mask).
    public var sigurgBlockAttempts: UInt64 = 0
    /// Times user code installed a SIGURG disposition (chained behind the runtime's).
    public var sigurgHandlerReplacements: UInt64 = 0
    /// Non-preemption SIGURGs passed on to the user's handler.
    public var sigurgForwarded: UInt64 = 0
    /// OS threads created for Ms.
    public var threadsCreated: UInt64 = 0
    /// Ms retired because their goroutine exited while locked to them.
    public var threadsRetired: UInt64 = 0
    /// Ps handed to a locked M so it could run its goroutine.
    public var lockedHandoffs: UInt64 = 0
    /// epoll_wait calls of the netpoller (NetpollScheduling.swift), blocking or not...
    public var netpollPolls: UInt64 = 0
    /// ...of which blocking (the sleeper M, no P held)...
    public var netpollBlockingPolls: UInt64 = 0
    /// Busy-polling spells (RuntimeConfiguration.netpollSpinNanoseconds) that found goroutines
    /// to run, so their M did not sleep.
    public var netpollSpinHits: UInt64 = 0
    /// Pollers that left epoll_wait to run goroutines while others still waited on
    /// sockets and handed the right to block there to an idle M...
    public var netpollHandovers: UInt64 = 0
    /// ...or kept it, because recent handovers were wasted (NetpollHandover.swift).
    public var netpollHandoversDeclined: UInt64 = 0
    /// ...socket events they returned (an fd with either direction ready)...
    public var netpollFdsReady: UInt64 = 0
    /// ...and goroutines parked on a socket they readied...
    public var netpollGoroutinesReadied: UInt64 = 0
    /// ...of which by sysmon's stale poll (nobody polled for 10 ms): readiness
    /// noticed late; an idle M should have been blocked in epoll_wait.
    public var netpollSysmonGoroutinesReadied: UInt64 = 0

    public init() {}

    /// Name → value, for result files.
    public func asDictionary() -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for child in Mirror(reflecting: self).children {
            if let label = child.label, let value = child.value as? UInt64 { out[label] = value }
        }
        return out
    }
}

/// The live counters of one P or M: a struct over raw storage, so bumping a
/// counter on the schedule path costs no reference counting. The owner frees it.
struct CounterBlock {
    enum Kind: Int, CaseIterable {
        case switches, steals, parks, handoffs, spins, idleSleeps, idleWakeups, spawns, yields, overflows
        case preemptionsRequested, preemptionsDelivered, preemptionsHonoured
        case preemptionsResent, threadsCreated, threadsRetired, lockedHandoffs
        case handoffsBlockedThread, blockedThreadReturns, onceWirings, sysmonSliceWakes, sysmonWakeups, sysmonCPUNanoseconds
        case netpollPolls, netpollBlockingPolls, netpollSpinHits, netpollHandovers, netpollHandoversDeclined
        case netpollFdsReady, netpollGoroutinesReadied
        case netpollSysmonGoroutinesReadied
        // No slots for preemptionsDeferred, preemptionsDropped, preemptionsForeign:
        // the SIGURG handler counts those in its M's ts_m (sig_deferred, sig_stale,
        // sig_foreign) and Scheduler.snapshotCounters adds them (Introspection.swift).
    }
    private let values: UnsafeMutablePointer<Atomic<UInt64>>

    init() {
        values = .allocate(capacity: Kind.allCases.count)
        for i in 0..<Kind.allCases.count { (values + i).initialize(to: Atomic(0)) }
    }

    func deallocate() {
        values.deinitialize(count: Kind.allCases.count)
        values.deallocate()
    }

    /// Bumps a counter. Single writer per block in the common case; `wrapping
    /// add` keeps it correct when several threads share a block (sysmon, global).
    @inline(__always)
    func add(_ kind: Kind, _ n: UInt64 = 1) {
        values[kind.rawValue].wrappingAdd(n, ordering: .relaxed)
    }

    /// Bumps a counter whose slot has one writer at a time (a P's switches and
    /// yields are written only by the M holding it; handing the P over is ordered
    /// by its status atomics). A plain load and store: no locked instruction on
    /// the switch path. Readers may see a value one behind, never a torn one.
    @inline(__always)
    func addSingleWriter(_ kind: Kind) {
        let slot = values + kind.rawValue
        slot.pointee.store(slot.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    func value(_ kind: Kind) -> UInt64 { values[kind.rawValue].load(ordering: .relaxed) }

    func accumulate(into c: inout RuntimeCounters) {
        c.switches += value(.switches)
        c.steals += value(.steals)
        c.parks += value(.parks)
        c.handoffs += value(.handoffs)
        c.spins += value(.spins)
        c.idleSleeps += value(.idleSleeps)
        c.spawns += value(.spawns)
        c.yields += value(.yields)
        c.overflows += value(.overflows)
        c.preemptionsRequested += value(.preemptionsRequested)
        c.preemptionsDelivered += value(.preemptionsDelivered)
        c.preemptionsHonoured += value(.preemptionsHonoured)
        c.preemptionsResent += value(.preemptionsResent)
        c.threadsCreated += value(.threadsCreated)
        c.threadsRetired += value(.threadsRetired)
        c.lockedHandoffs += value(.lockedHandoffs)
        c.handoffsBlockedThread += value(.handoffsBlockedThread)
        c.blockedThreadReturns += value(.blockedThreadReturns)
        c.onceWirings += value(.onceWirings)
        c.sysmonSliceWakes += value(.sysmonSliceWakes)
        c.sysmonWakeups += value(.sysmonWakeups)
        c.sysmonCPUNanoseconds += value(.sysmonCPUNanoseconds)
        c.idleWakeups += value(.idleWakeups)
        c.netpollPolls += value(.netpollPolls)
        c.netpollBlockingPolls += value(.netpollBlockingPolls)
        c.netpollSpinHits += value(.netpollSpinHits)
        c.netpollHandovers += value(.netpollHandovers)
        c.netpollHandoversDeclined += value(.netpollHandoversDeclined)
        c.netpollFdsReady += value(.netpollFdsReady)
        c.netpollGoroutinesReadied += value(.netpollGoroutinesReadied)
        c.netpollSysmonGoroutinesReadied += value(.netpollSysmonGoroutinesReadied)
    }
}
