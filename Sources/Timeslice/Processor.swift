// P: the right to run Go code... here, Swift goroutines. maxProcs of them exist;
// an M must hold one to run a G. Each P has a local run queue, a timer heap, a
// cache of dead goroutines for reuse, and counters.
import CTimeslice
import Synchronization

enum ProcessorStatus: UInt32 {
    case idle = 0      // on the idle list, no M
    case running = 1   // held by an M
    case syscall = 2   // its M is in blockingCall; whoever CASes it to idle/running takes it
    case stopped = 3   // runtime shut down
}

final class Processor {
    let id: Int
    /// The owner handle of this P's run queue (RunQueue.swift): push, pop and
    /// steal-into are for the M holding this P only.
    let runQueue: RunQueueOwner
    /// The handle every other thread uses: thieves (FindRunnable.swift), the
    /// spinning re-check, handOff, schedtrace. Points at runQueue's storage.
    let runQueueStealer: RunQueueStealer
    /// ProcessorStatus. Transitions out of `syscall` are by CAS (sysmon vs. the returning M).
    let status = Atomic<UInt32>(ProcessorStatus.idle.rawValue)
    /// Bumped on every schedule; sysmon compares samples to spot a G that ran a whole slice.
    let scheduleTick = Atomic<UInt32>(0)
    /// Monotonic time the current G's slice began (preemptive modes only; 0 = unknown).
    /// Written by the holding M at each non-inherited switch-in; read by sysmon.
    let sliceStart = Atomic<UInt64>(0)
    /// Preemption request for the current slice (sysmon sets it; cleared when a
    /// new slice starts or a preemption is delivered). Read by the SIGURG handler
    /// through ts_m.p_preempt, and by preemptionPoint().
    let preemptWord: UnsafeMutablePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    /// The current request's first signal (sysmon's clock just before tgkill), 0 when
    /// the request sent none or a g0 already consumed it. Written by sysmon before it
    /// sets the request flags and signals; taken by exchange with 0 on g0 of the M
    /// that switches the G out, so each request is counted once (PreemptionBreakdown).
    let preemptSignalAt = Atomic<UInt64>(0)
    /// Signals sent for that request, the first included. sysmon writes it before the
    /// releasing store of preemptSignalAt (first signal) or adds to it (re-send);
    /// g0 reads it after acquiring preemptSignalAt, so it sees at least 1.
    let preemptSignals = Atomic<UInt32>(0)
    /// Bumped on every blockingCall entry; sysmon compares samples to spot a long call.
    let syscallTick = Atomic<UInt32>(0)
    let timers = TimerHeap()
    let counters = CounterBlock()
    /// The M holding this P. Written by the acquiring M; read by sysmon for preemption.
    @exclusivity(unchecked) unowned(unsafe) var machine: Machine?
    /// Dead goroutines kept for reuse. Owner M only.
    @exclusivity(unchecked) var freeGoroutines: [Goroutine] = []

    // sysmon's private bookkeeping (only the sysmon thread touches these).
    @exclusivity(unchecked) var sysmonScheduleTick: UInt32 = 0
    @exclusivity(unchecked) var sysmonScheduleSeen: UInt64 = 0
    @exclusivity(unchecked) var sysmonSyscallTick: UInt32 = 0
    @exclusivity(unchecked) var sysmonSyscallSeen: UInt64 = 0
    /// scheduleTick of the run sysmon last asked to stop (a request is per run).
    @exclusivity(unchecked) var sysmonRequestTick: UInt32 = 0
    @exclusivity(unchecked) var sysmonRequestPending = false
    /// When sysmon last signalled that run, and how long before it may re-send.
    @exclusivity(unchecked) var sysmonSignalAt: UInt64 = 0
    @exclusivity(unchecked) var sysmonResendDelay: UInt64 = 0
    /// The M's ts_m.sig_resend_asks when sysmon signalled: a change means the handler
    /// refused the signal and wants the re-send (PreemptionController.resendDue).
    @exclusivity(unchecked) var sysmonResendAsksAtSignal: UInt32 = 0
    // Blocked-thread detection (BlockedThread.swift): the run and goroutine last
    // sampled, the M's thread CPU clock then and when it was read, whether the
    // thread was judged mostly blocked, and the syscallTick of a claim not yet
    // handed off (so the handoff is counted as a blocked-thread one).
    @exclusivity(unchecked) var sysmonBlockedTick: UInt32 = 0
    @exclusivity(unchecked) var sysmonBlockedGoroutine: UInt64 = 0
    @exclusivity(unchecked) var sysmonCPUTime: UInt64 = 0
    @exclusivity(unchecked) var sysmonCPUSeenAt: UInt64 = 0
    @exclusivity(unchecked) var sysmonThreadBlocked = false
    @exclusivity(unchecked) var sysmonBlockedSyscallTick: UInt32 = 0
    @exclusivity(unchecked) var sysmonBlockedHandoffPending = false
    /// When sysmon first signalled that run, and whether it already warned that the
    /// goroutine's preemption keeps being refused (once per request).
    @exclusivity(unchecked) var sysmonFirstSignalAt: UInt64 = 0
    @exclusivity(unchecked) var sysmonRefusalWarned = false

    init(id: Int, runQueueCapacity: Int) {
        self.id = id
        runQueue = RunQueueOwner(capacity: runQueueCapacity)
        runQueueStealer = runQueue.stealer
    }

    deinit {
        preemptWord.deallocate()
        counters.deallocate()
    }

    var currentStatus: ProcessorStatus { ProcessorStatus(rawValue: status.load(ordering: .acquiring))! }

    /// True when the P has nothing runnable (ring and runnext). Any thread.
    var hasNoLocalWork: Bool { runQueueStealer.isEmpty }
}
