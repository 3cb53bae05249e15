// The scheduler: Go's G/M/P design (runtime/proc.go), in Swift.
//
// G: a goroutine (Goroutine.swift). M: an OS thread (Machine.swift). P: a
// processor, the right to run goroutines (Processor.swift); there are exactly
// maxProcs Ps, so at most maxProcs goroutines run at once, while Ms blocked in
// blockingCall hold no P.
//
// Finding work (findRunnable), in order: own P's expired timers; every 61st tick
// one G from the global queue (so the global queue is never starved by two Gs
// ping-ponging through runnext); own runnext and run queue; the global queue;
// every other P's expired timers; then, as a *spinning* M, half of a victim's
// run queue, victims in random coprime order; finally park.
//
// Spinning. An M without work spins (looks for work to steal) before it sleeps,
// so a newly readied G is picked up fast without waking a thread for every G.
// At most half the busy Ps' worth of Ms spin. Invariant (Go's): if there is
// runnable work and an idle P, at least one M is spinning or about to be woken.
// Whoever makes work runnable calls wakeIdleProcessor(), which starts a spinning
// M only when none spins; a spinning M that finds work stops spinning and wakes
// another if it was the last one. The last spinning M to give up re-checks every
// run queue *after* decrementing the spinning count (sequentially consistent),
// so a G queued concurrently is seen either by it or by the queuer's wake-up.
// (The full argument is in Idle.swift.)
//
// Timers. Each P has a heap of sleeping Gs. At most one idle M is the "timer
// sleeper": it parks with a timeout at the earliest deadline over all Ps. A G
// that adds an earlier timer wakes it. sysmon also wakes an M if a timer is
// overdue and nobody attends to it. While goroutines wait on sockets the same
// sleeper sleeps in epoll_wait instead (NetpollScheduling.swift): one sleep for
// timers and I/O.
//
// blockingCall (Syscall.swift) gives up the P without switching; sysmon retakes
// a P stuck in a call for more than 20 µs and hands it to another M.
//
// Locks. `lock` guards the global queue, the idle P and idle M lists, the M
// list and the timer-sleeper role. It is a RuntimeLock held only in runtime
// code on g0 or on a goroutine whose preemption is disabled. Order: a P's timer
// heap lock, then `lock` (sleep adds a timer, then may wake the timer sleeper);
// a poll descriptor's lock, then `lock` (a first socket waiter wakes the sleeper);
// `goroutineLock` (free goroutines) is a leaf, never held with another.
//
// File map (the scheduler is this type plus one extension per concern):
//   Scheduler.swift          the type, its state and who owns each field, start/shutdown
//   GoroutineRecycling.swift creating goroutines (spawn), per-P and global free lists
//   GlobalQueue.swift        the global run queue (tokio's "inject"), ready(), putLocal
//   RunQueue.swift           the per-P ring + runnext: RunQueueOwner / RunQueueStealer
//   Idle.swift               idle Ps and Ms, wakeIdleProcessor/startMachine/handOff,
//                            stopMachine, the spinning protocol and its invariant
//   MachineLoop.swift        the M loop (runMachine), execute and the switch-back
//                            reasons, locked goroutines' M side (stoplockedm/startlockedm)
//   FindRunnable.swift       finding work and *stealing* (stealWork)
//   TimerSleeper.swift       running expired timers, the timer-sleeper M
//   NetpollScheduling.swift  the netpoller in findRunnable, the sleeper and sysmon
//                            (Netpoller.swift: epoll; PollDescriptor.swift: per socket)
//   Introspection.swift      counters, M counts, preemption breakdown snapshots
//   SchedTrace.swift         the periodic schedtrace line
// Elsewhere: the time slice is *enforced* in Sysmon.swift (retake, which asks
// Preemption.swift's checkRunningProcessor to request a stop); the async
// *safe-point check* is the SIGURG handler in Sources/CTimeslice/preempt.c
// (protocol in include/ts_preempt.h); the polling point is preemptionPoint() in
// Runtime.swift; runtime sections that defer preemption are RuntimeEntry.swift;
// blockingCall is Syscall.swift; the LockOSThread API is LockOSThread.swift.
import CTimeslice
import Glibc
import Synchronization
import TimesliceHost

final class Scheduler {
    // Fixed at init, then only read (any thread).
    let configuration: RuntimeConfiguration
    let maxProcs: Int
    /// RuntimeConfiguration.netpollSpinNanoseconds, clamped (0: no busy polling).
    let netpollSpinNanoseconds: UInt64
    /// Every P; kept alive as long as the scheduler, so code may borrow them at +0.
    let processors: [Processor]
    let stealOrder: StealOrder
    /// Stack pools: index 0 unbound, index n + 1 bound to NUMA node n.
    let stackPools: [StackPool]
    /// Mode and slice: relaxed atomics inside, set by Runtime, read by every M and sysmon.
    let preemption: PreemptionController
    /// Non-nil when the configuration asks for a trace file.
    let trace: TraceRecorder?
    let placement: PlacementState
    let startTime = ts_monotonic_ns()

    /// Guards the fields marked "`lock`" below. See "Locks" above.
    let lock = RuntimeLock()
    /// Events not owned by one P or M (sysmon, spawns outside a P, thread
    /// creation). Relaxed atomic adds from any thread.
    let counters = CounterBlock()

    // Global run queue (GlobalQueue.swift): intrusive list through
    // Goroutine.schedLink. Read and written only under `lock`.
    @exclusivity(unchecked) var globalHead: UInt = 0
    @exclusivity(unchecked) var globalTail: UInt = 0
    /// Length of the global queue. Written under `lock` (sequentially consistent:
    /// the spinning protocol); read anywhere, without the lock, as a hint.
    let globalCount = Atomic<Int>(0)

    // Idle Ps and Ms (Idle.swift).
    /// Ps nobody holds. Under `lock`.
    @exclusivity(unchecked) var idleProcessors: [Processor] = []
    /// idleProcessors.count. Written under `lock`, sequentially consistent (the
    /// spinning protocol); read anywhere without it.
    let idleProcessorCount = Atomic<Int>(0)
    /// Parked Ms waiting for a P. Under `lock`.
    @exclusivity(unchecked) var idleMachines: [Machine] = []
    /// Ms currently spinning. Changed by any M without the lock (CAS 0 -> 1 in
    /// wakeIdleProcessor/handOff, adds and subtracts in findRunnable and
    /// stopSpinning), all sequentially consistent: see the spinning invariant.
    let spinningMachines = Atomic<Int>(0)
    /// Every M ever started. Appended under `lock` (newMachineLocked); read under it.
    @exclusivity(unchecked) var machines: [Machine] = []
    /// Threads still inside runMachine; shutdown futex-waits for 0. Incremented
    /// under `lock` when an M is created, decremented (and woken) by the exiting
    /// M thread itself; C atomics (ts_fetch_add_u32/ts_fetch_sub_u32).
    let liveThreads = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)

    // Timers (TimerSleeper.swift).
    /// The idle M parked with a timeout for the earliest timer. Under `lock`.
    @exclusivity(unchecked) var timerSleeper: Machine?
    /// When the timer sleeper will wake, 0 when there is none. Written under
    /// `lock`, sequentially consistent; read anywhere (timerMayNeedAttention).
    let timerSleeperDeadline = Atomic<UInt64>(0)
    /// Timers in every P's heap; lets the schedule path skip the clock and the
    /// heaps when there are none. Incremented (by the sleeping G, under its P's
    /// heap lock) before insertion, decremented by whichever M ran them after
    /// removal, so it never reads 0 while a timer exists. Sequentially consistent.
    let pendingTimers = Atomic<Int>(0)

    /// Set once by shutdown (sequentially consistent); read by every M, relaxed,
    /// and re-read under `lock` before an M parks.
    let stopping = Atomic<Bool>(false)

    // Goroutines (GoroutineRecycling.swift).
    /// Goroutine ids. Relaxed increments by whoever creates a goroutine.
    let nextGoroutineID = Atomic<UInt64>(0)
    /// Goroutines spawned and not yet exited. Relaxed: +1 on creation, -1 on g0 at exit.
    let liveGoroutines = Atomic<Int>(0)
    /// Guards allGoroutines and freeGoroutines; a leaf lock.
    let goroutineLock = RuntimeLock()
    /// Every Goroutine object ever made (they are recycled, never freed while the
    /// scheduler lives). Under `goroutineLock`.
    @exclusivity(unchecked) var allGoroutines: [Goroutine] = []
    /// Dead goroutines not in any P's cache. Under `goroutineLock`.
    @exclusivity(unchecked) var freeGoroutines: [Goroutine] = []

    /// Set once in start(), before any M or sysmon runs; read-only afterwards.
    private(set) var sysmon: Sysmon!
    /// Until when sysmon sleeps (monotonic ns), 0 while it is awake. Set by sysmon; read
    /// by every g0 at each slice start (noteSliceStart) and by the SIGURG handler, and
    /// taken (CAS to 0) by whoever wakes sysmon. Static C storage (ts_preempt.h), so the
    /// handler may read it on any thread at any time; reset by init.
    let sysmonSleepsUntil: UnsafeMutablePointer<UInt64> = ts_sysmon_sleeps_until()
    /// The epoll instance of goroutine sockets (Netpoller.swift). Set once in
    /// start(), before any M runs; its fds are closed by shutdown.
    private(set) var netpoller: Netpoller!
    /// Why async preemption cannot work on this machine, or nil. Set once in start().
    private(set) var asyncPreemptionUnavailable: String?
    /// Where preemption time goes (PreemptionBreakdown.swift); the signal-to-switch
    /// part is Runtime.preemptionLatency. sysmon's stages, under its own lock; each M
    /// keeps its g0's (Machine.preemptionSamples).
    let preemptionSamples = PreemptionSamples()

    /// Throws when the placement cannot be honoured on this machine.
    init(configuration: RuntimeConfiguration) throws {
        self.configuration = configuration
        maxProcs = configuration.resolvedMaxProcs
        netpollSpinNanoseconds = min(configuration.netpollSpinNanoseconds ?? 0, RuntimeConfiguration.maximumNetpollSpinNanoseconds)
        placement = try PlacementState(spec: configuration.placement, workers: maxProcs, allowed: configuration.placementCPUs)
        processors = (0..<maxProcs).map { Processor(id: $0, runQueueCapacity: 256) }
        stealOrder = StealOrder(count: maxProcs)
        let nodeCount = (placement.numa.nodes.map(\.id).max() ?? -1) + 1
        stackPools = [StackPool(stackSize: configuration.stackSize)]
            + (0..<nodeCount).map { StackPool(stackSize: configuration.stackSize, node: $0) }
        trace = configuration.traceFile.map { TraceRecorder(path: $0) }
        preemption = PreemptionController(mode: configuration.preemption,
                                          sliceNanoseconds: configuration.timeSliceNanoseconds)
        liveThreads.initialize(to: 0)
        ts_store_u64(sysmonSleepsUntil, 0)
    }

    /// g0, at the start of a slice at `now` in polling or async mode. sysmon computed its
    /// sleep before this slice existed (every P idle, or its back-off of up to 10 ms); if
    /// it would sleep past the slice's end by more than the handover slack (Preemption.swift:
    /// after a preemption it anticipates this slice) it is woken to watch the slice. Without this a
    /// goroutine that started on an idle runtime ran up to 10 ms unpreempted, whatever the
    /// slice. One load per new slice.
    @inline(__always)
    func noteSliceStart(now: UInt64) {
        let watchEnds = now &+ preemption.sliceNanoseconds &+ preemption.handoverSlack
        if _slowPath(ts_load_u64(sysmonSleepsUntil) > watchEnds) { sysmon.wakeForSlice(deadline: watchEnds) }
    }

    deinit {
        liveThreads.deallocate()
        counters.deallocate()
        preemption.deallocate()
    }

    // MARK: Start and shutdown

    /// Queues the main goroutine on P0, starts M0 holding P0, and sysmon.
    func start(main body: @escaping () -> Void) {
        ts_install_overflow_handler()
        installOnceAwareness()
        asyncPreemptionUnavailable = AsyncPreemption.install()
        if let reason = asyncPreemptionUnavailable, configuration.preemption == .async {
            fatalError("timeslice: TIMESLICE_PREEMPT=async: \(reason)")
        }
        for p in processors.dropFirst() {
            p.status.store(ProcessorStatus.idle.rawValue, ordering: .relaxed)
            idleProcessors.append(p)
        }
        idleProcessorCount.store(maxProcs - 1, ordering: .sequentiallyConsistent)
        let main = makeGoroutine(body, cache: nil)
        // No M runs yet, so P0's owner handle is ours until M0 takes P0.
        _ = processors[0].runQueue.push(main.opaque, next: false)
        sysmon = Sysmon(scheduler: self)
        netpoller = Netpoller(scheduler: self)
        lock.withLock { _ = newMachineLocked(processor: processors[0], spinning: false) }
        sysmon.start()
    }

    /// Stops every M once it is back on g0, waiting up to `deadline` ns, then
    /// closes the netpoller's fds. Returns the number of threads still running
    /// goroutines that never yielded.
    func shutdown(waitNanoseconds: UInt64) -> Int {
        let stuck = stopMachines(waitNanoseconds: waitNanoseconds)
        // A stuck M is in user code: it sees `stopping` before it could poll again.
        netpoller.close()
        return stuck
    }

    private func stopMachines(waitNanoseconds: UInt64) -> Int {
        stopping.store(true, ordering: .sequentiallyConsistent)
        // Every M, not just the idle ones: an M waiting for its locked goroutine
        // sleeps outside the idle list. Spurious wakes are harmless.
        lock.withLock {
            for m in machines { m.wake() }
        }
        sysmon.stop()
        let deadline = ts_monotonic_ns() + waitNanoseconds
        while true {
            let live = ts_load_u32(liveThreads)
            if live == 0 { return 0 }
            let now = ts_monotonic_ns()
            if now >= deadline { return Int(live) }
            _ = ts_futex_wait(liveThreads, live, Int64(min(deadline - now, 50_000_000)))
        }
    }
}
