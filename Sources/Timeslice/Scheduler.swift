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
// then, as a *spinning* M, every P's expired timers and half of a victim's run
// queue, victims in random coprime order; finally park.
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
//
// Timers. Each P has a heap of sleeping Gs. At most one idle M is the "timer
// sleeper": it parks with a timeout at the earliest deadline over all Ps. A G
// that adds an earlier timer wakes it. sysmon also wakes an M if a timer is
// overdue and nobody attends to it.
//
// blockingCall (Syscall.swift) gives up the P without switching; sysmon retakes
// a P stuck in a call for more than 20 µs and hands it to another M.
//
// Locks. `lock` guards the global queue, the idle P and idle M lists, the M
// list and the timer-sleeper role. It is a RuntimeLock held only in runtime
// code on g0 or on a goroutine whose preemption is disabled.
import CTimeslice
import Glibc
import Synchronization
import TimesliceHost

final class Scheduler {
    let configuration: RuntimeConfiguration
    let maxProcs: Int
    let processors: [Processor]
    let stealOrder: StealOrder
    /// Stack pools: index 0 unbound, index n + 1 bound to NUMA node n.
    let stackPools: [StackPool]
    let preemption: PreemptionController
    /// Non-nil when the configuration asks for a trace file.
    let trace: TraceRecorder?
    let lock = RuntimeLock()
    /// Events not owned by one P or M (sysmon, spawns outside a P).
    let counters = CounterBlock()
    let startTime = ts_monotonic_ns()

    // Global run queue: intrusive list through Goroutine.schedLink. Guarded by `lock`.
    @exclusivity(unchecked) private var globalHead: UInt = 0
    @exclusivity(unchecked) private var globalTail: UInt = 0
    /// Length of the global queue; written under `lock`, read anywhere as a hint.
    let globalCount = Atomic<Int>(0)

    /// Guarded by `lock`.
    @exclusivity(unchecked) private var idleProcessors: [Processor] = []
    /// Written under `lock`; read anywhere (sequentially consistent: spinning protocol).
    let idleProcessorCount = Atomic<Int>(0)
    /// Guarded by `lock`.
    @exclusivity(unchecked) private var idleMachines: [Machine] = []
    /// Ms currently spinning. Sequentially consistent: see the spinning invariant above.
    let spinningMachines = Atomic<Int>(0)
    /// Every M ever started. Guarded by `lock`.
    @exclusivity(unchecked) private(set) var machines: [Machine] = []
    /// Threads still inside runMachine (shutdown waits for 0). A futex word.
    private let liveThreads = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)

    /// The idle M parked with a timeout for the earliest timer. Guarded by `lock`.
    @exclusivity(unchecked) private var timerSleeper: Machine?
    /// When the timer sleeper will wake, 0 when there is none. Sequentially consistent.
    let timerSleeperDeadline = Atomic<UInt64>(0)

    let stopping = Atomic<Bool>(false)
    /// Timers in every P's heap; lets the schedule path skip the clock and the
    /// heaps when there are none. Incremented before insertion, decremented
    /// after removal, so it never reads 0 while a timer exists.
    let pendingTimers = Atomic<Int>(0)
    let nextGoroutineID = Atomic<UInt64>(0)
    /// Goroutines spawned and not yet exited.
    let liveGoroutines = Atomic<Int>(0)
    /// Every Goroutine object ever made (they are recycled, never freed while the
    /// scheduler lives). Guarded by goroutineLock with freeGoroutines.
    private let goroutineLock = RuntimeLock()
    @exclusivity(unchecked) private var allGoroutines: [Goroutine] = []
    @exclusivity(unchecked) private var freeGoroutines: [Goroutine] = []

    private(set) var sysmon: Sysmon!
    /// Why async preemption cannot work on this machine, or nil.
    private(set) var asyncPreemptionUnavailable: String?
    /// Where preemption time goes (PreemptionBreakdown.swift); the signal-to-switch
    /// part is Runtime.preemptionLatency.
    let preemptionSamples = PreemptionSamples()

    let placement: PlacementState

    /// Throws when the placement cannot be honoured on this machine.
    init(configuration: RuntimeConfiguration) throws {
        self.configuration = configuration
        maxProcs = configuration.resolvedMaxProcs
        placement = try PlacementState(spec: configuration.placement, workers: maxProcs)
        processors = (0..<maxProcs).map { Processor(id: $0, runQueueCapacity: 256) }
        stealOrder = StealOrder(count: maxProcs)
        let nodeCount = (placement.numa.nodes.map(\.id).max() ?? -1) + 1
        stackPools = [StackPool(stackSize: configuration.stackSize)]
            + (0..<nodeCount).map { StackPool(stackSize: configuration.stackSize, node: $0) }
        trace = configuration.traceFile.map { TraceRecorder(path: $0) }
        preemption = PreemptionController(mode: configuration.preemption,
                                          sliceNanoseconds: configuration.timeSliceNanoseconds)
        liveThreads.initialize(to: 0)
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
        _ = processors[0].runQueue.push(main.opaque, next: false)
        sysmon = Sysmon(scheduler: self)
        lock.withLock { _ = newMachineLocked(processor: processors[0], spinning: false) }
        sysmon.start()
    }

    /// Stops every M once it is back on g0, waiting up to `deadline` ns.
    /// Returns the number of threads still running goroutines that never yielded.
    func shutdown(waitNanoseconds: UInt64) -> Int {
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

    // MARK: Goroutine creation and recycling

    /// Makes a runnable G for `body`, reusing a dead one when possible.
    /// `cache` is the calling M's P (owner-only free list), or nil.
    func makeGoroutine(_ body: @escaping () -> Void, cache: Processor?) -> Goroutine {
        let g: Goroutine
        if let p = cache, let reused = p.freeGoroutines.popLast() {
            g = reused
        } else if let reused = takeFreeGoroutinesForCache(cache) {
            g = reused
        } else {
            g = Goroutine(scheduler: self, stack: stackPool(forNode: Machine.current?.node).allocate())
            goroutineLock.withLock { allGoroutines.append(g) }
        }
        g.prepare(id: nextGoroutineID.wrappingAdd(1, ordering: .relaxed).newValue, body: body)
        liveGoroutines.wrappingAdd(1, ordering: .relaxed)
        (cache?.counters ?? counters).add(.spawns)
        return g
    }

    /// Refills the P's cache from the global free list (up to 32) and returns one.
    private func takeFreeGoroutinesForCache(_ p: Processor?) -> Goroutine? {
        goroutineLock.lock()
        defer { goroutineLock.unlock() }
        guard let g = freeGoroutines.popLast() else { return nil }
        if let p {
            let n = min(32, freeGoroutines.count)
            p.freeGoroutines.append(contentsOf: freeGoroutines.suffix(n))
            freeGoroutines.removeLast(n)
        }
        return g
    }

    /// Called on g0 after a G exited.
    private func recycle(_ g: Goroutine, cache p: Processor?) {
        liveGoroutines.wrappingSubtract(1, ordering: .relaxed)
        guard let p else {
            goroutineLock.withLock { freeGoroutines.append(g) }
            return
        }
        p.freeGoroutines.append(g)
        if p.freeGoroutines.count > 64 {
            let moved = p.freeGoroutines.suffix(32)
            p.freeGoroutines.removeLast(32)
            goroutineLock.withLock { freeGoroutines.append(contentsOf: moved) }
        }
    }

    /// Spawns `body` from the calling goroutine (or from any thread).
    func spawn(_ body: @escaping () -> Void) {
        let m = Machine.current
        let p = m?.processor
        let g = makeGoroutine(body, cache: p)
        if let p {
            putLocal(g, on: p, next: true)
        } else {
            putGlobal(g)
        }
        wakeIdleProcessor()
    }

    // MARK: Run queues

    @inline(__always)
    func putLocal(_ g: Goroutine, on p: Processor, next: Bool) {
        if let overflow = p.runQueue.push(g.opaque, next: next) {
            p.counters.add(.overflows)
            putGlobalBatch(overflow)
        }
    }

    func putGlobal(_ g: Goroutine) {
        lock.withLock { appendGlobalLocked(g.opaque) }
    }

    private func putGlobalBatch(_ entries: [UInt]) {
        lock.withLock {
            for e in entries { appendGlobalLocked(e) }
        }
    }

    private func appendGlobalLocked(_ entry: UInt) {
        Goroutine.from(opaque: entry).schedLink = 0
        if globalTail != 0 {
            Goroutine.from(opaque: globalTail).schedLink = entry
        } else {
            globalHead = entry
        }
        globalTail = entry
        globalCount.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    private func popGlobalLocked() -> Goroutine? {
        guard globalHead != 0 else { return nil }
        let g = Goroutine.from(opaque: globalHead)
        globalHead = g.schedLink
        if globalHead == 0 { globalTail = 0 }
        g.schedLink = 0
        globalCount.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return g
    }

    /// Takes a fair share of the global queue: one to run, the rest into p's
    /// queue (at most `max` in all when max > 0). Go's globrunqget.
    private func takeGlobalLocked(into p: Processor, max: Int) -> Goroutine? {
        let count = globalCount.load(ordering: .relaxed)
        guard count > 0 else { return nil }
        var n = Swift.min(count, count / maxProcs + 1)
        if max > 0 { n = Swift.min(n, max) }
        n = Swift.min(n, Int(p.runQueue.capacity) / 2)
        guard let first = popGlobalLocked() else { return nil }
        for _ in 1..<Swift.max(n, 1) {
            guard let g = popGlobalLocked() else { break }
            if let overflow = p.runQueue.push(g.opaque, next: false) {
                for e in overflow { appendGlobalLocked(e) }
            }
        }
        return first
    }

    private func takeGlobal(into p: Processor, max: Int) -> Goroutine? {
        guard globalCount.load(ordering: .relaxed) > 0 else { return nil }
        return lock.withLock { takeGlobalLocked(into: p, max: max) }
    }

    /// Makes a parked G runnable, on the caller's P when it has one (runnext, so it
    /// runs soon and inherits the slice, like Go's ready()), else globally.
    func ready(_ g: Goroutine, next: Bool = true) {
        if let m = ts_current_m(), let pRef = Unmanaged<Machine>.fromOpaque(m.pointee.owner)
            ._withUnsafeGuaranteedRef({ $0.processorRef }) {
            pRef._withUnsafeGuaranteedRef { p in putLocal(g, on: p, next: next) }
        } else {
            putGlobal(g)
        }
        wakeIdleProcessor()
    }

    // MARK: Idle Ps and Ms

    private func pushIdleProcessorLocked(_ p: Processor) {
        p.machine = nil
        p.status.store(ProcessorStatus.idle.rawValue, ordering: .releasing)
        idleProcessors.append(p)
        idleProcessorCount.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    func lockedPopIdleProcessor() -> Processor? { lock.withLock { popIdleProcessorLocked() } }

    private func popIdleProcessorLocked() -> Processor? {
        guard let p = idleProcessors.popLast() else { return nil }
        idleProcessorCount.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return p
    }

    func acquire(_ p: Processor, by m: Machine) {
        p.machine = m
        p.status.store(ProcessorStatus.running.rawValue, ordering: .releasing)
        m.processor = p
    }

    /// Go's wakep: if a P is idle and no M spins, start a spinning M for it.
    @inline(__always)
    func wakeIdleProcessor() {
        if idleProcessorCount.load(ordering: .sequentiallyConsistent) == 0 { return }
        if spinningMachines.load(ordering: .sequentiallyConsistent) != 0 { return }
        if !spinningMachines.compareExchange(expected: 0, desired: 1, ordering: .sequentiallyConsistent).exchanged {
            return
        }
        startMachine(processor: nil, spinning: true)
    }

    /// Go's startm: runs `processor` (or an idle P) on an idle or new M. When
    /// `spinning`, the caller already counted the M in spinningMachines.
    func startMachine(processor: Processor?, spinning: Bool) {
        lock.lock()
        guard let p = processor ?? popIdleProcessorLocked() else {
            lock.unlock()
            if spinning { spinningMachines.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
            return
        }
        if let m = idleMachines.popLast() {
            if timerSleeper === m { clearTimerSleeperLocked() }
            m.nextProcessor = p
            m.nextSpinning = spinning
            lock.unlock()
            m.wake()
        } else {
            let m = newMachineLocked(processor: p, spinning: spinning)
            lock.unlock()
            _ = m
        }
    }

    /// Creates and starts a new M that will run `processor`. Caller holds `lock`.
    private func newMachineLocked(processor: Processor, spinning: Bool) -> Machine {
        let m = Machine(id: machines.count, scheduler: self)
        m.nextProcessor = processor
        m.nextSpinning = spinning
        machines.append(m)
        counters.add(.threadsCreated)
        _ = ts_fetch_add_u32(liveThreads, 1)
        m.startThread()
        return m
    }

    /// Go's handoffp: decides what to do with a P taken from an M in a blocking call.
    func handOff(_ p: Processor) {
        if !p.hasNoLocalWork || globalCount.load(ordering: .sequentiallyConsistent) > 0 {
            startMachine(processor: p, spinning: false)
            return
        }
        if spinningMachines.load(ordering: .sequentiallyConsistent) + idleProcessorCount.load(ordering: .sequentiallyConsistent) == 0,
           spinningMachines.compareExchange(expected: 0, desired: 1, ordering: .sequentiallyConsistent).exchanged {
            startMachine(processor: p, spinning: true)
            return
        }
        lock.lock()
        if globalCount.load(ordering: .relaxed) > 0 {
            lock.unlock()
            startMachine(processor: p, spinning: false)
            return
        }
        pushIdleProcessorLocked(p)
        lock.unlock()
        timerMayNeedAttention(deadline: p.timers.earliest.load(ordering: .sequentiallyConsistent))
    }

    // MARK: The M's loop

    /// Body of every M thread.
    func runMachine(_ m: Machine) {
        let rc = ts_thread_setup(m.header, 64 * 1024)
        if rc != 0 { fatalError("timeslice: M\(m.id) setup failed: \(String(cString: strerror(rc)))") }
        m.traceBuffer = trace?.makeBuffer(name: "M\(m.id)")
        if let plan = placement.plan {
            placement.apply(plan.cpusForWorker(m.id), thread: "M\(m.id)")
            m.node = placement.node(ofWorker: m.id)
        }
        lock.withLock { _ = adoptHandedProcessorLocked(m) }
        while !m.retired {
            if m.lockedGoroutine != nil {
                // This M serves only its locked goroutine (LockOSThread.swift).
                guard waitForLockedGoroutine(m) else { break }
                unowned(unsafe) let locked = m.lockedGoroutine!
                execute(locked, on: m, inheritsTime: false)
                continue
            }
            guard let (entry, inheritsTime) = findRunnable(m) else { break }
            if m.spinning { stopSpinning(m) }
            Unmanaged<Goroutine>.fromOpaque(UnsafeRawPointer(bitPattern: entry)!)._withUnsafeGuaranteedRef { g in
                if g.lockedMachine != nil && g.lockedMachine !== m {
                    handOffToLockedMachine(g, g.lockedMachine!, from: m)
                } else {
                    execute(g, on: m, inheritsTime: inheritsTime)
                }
            }
        }
        if m.retired, let p = m.processor {
            m.processor = nil
            handOff(p)
        }
        ts_thread_teardown(m.header)
        _ = ts_fetch_sub_u32(liveThreads, 1)
        _ = ts_futex_wake(liveThreads, Int32.max)
    }

    /// A spinning M found work: it stops spinning, and if it was the last spinner
    /// it wakes another, since more work may be coming (Go's resetspinning).
    private func stopSpinning(_ m: Machine) {
        m.spinning = false
        let remaining = spinningMachines.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue
        precondition(remaining >= 0, "spinning count went negative")
        if remaining == 0 { wakeIdleProcessor() }
    }

    /// Switches to `g` and handles why it came back.
    private func execute(_ g: Goroutine, on m: Machine, inheritsTime: Bool) {
        // Borrow the P at +0: no retain/release on the hottest path (the scheduler
        // keeps every P alive).
        m.processorRef!._withUnsafeGuaranteedRef { p in execute(g, on: m, holding: p, inheritsTime: inheritsTime) }
    }

    private func execute(_ g: Goroutine, on m: Machine, holding p: Processor, inheritsTime: Bool) {
        if !inheritsTime {
            ts_store_u32(p.preemptWord, 0)   // a new slice: any request was for the last one
            p.scheduleTick.wrappingAdd(1, ordering: .relaxed)
            // One clock read per switch, only when sysmon enforces a slice: it lets
            // sysmon wake exactly when the slice ends instead of sampling ticks.
            if preemption.needsSysmonTicks {
                p.sliceStart.store(ts_monotonic_ns(), ordering: .relaxed)
                // A new slice, so no request yet: a handler entry noted for an earlier
                // request that never completed must not start this one's safe-point
                // wait. Plain store: only this thread (g0 here, its handler) touches it.
                m.header.pointee.sig_first_entry_ns = 0
            }
        }
        // A preemption request belongs to one run (Go clears gp.preempt in
        // execute): one left over from before the G parked must not cut this run.
        ts_store_u32(&g.header.pointee.preempt_request, 0)
        ts_store_u32(&g.header.pointee.preempt_pending, 0)
        m.current = g
        ts_store_curg(m.header, g.header)
        p.counters.addSingleWriter(.switches)
        ts_set_current_g(g.header)
        m.traceBuffer?.record(.runStart, a: g.header.pointee.id)
        ts_enter_thread_local_context(g.header)
        ts_context_switch(&m.header.pointee.g0_sp, g.header.pointee.sp)
        ts_exit_thread_local_context(g.header)
        m.traceBuffer?.record(.runEnd, a: g.header.pointee.id, b: m.header.pointee.switch_reason)
        ts_set_current_g(nil)
        ts_store_curg(m.header, nil)
        m.current = nil

        let reason = SwitchReason(rawValue: m.header.pointee.switch_reason).unsafelyUnwrapped
        m.header.pointee.switch_reason = 0
        switch reason {
        case .yield:
            p.counters.addSingleWriter(.yields)
            requeueBehindExpiredTimers(g, on: p)
        case .park:
            m.processor?.counters.add(.parks)
            m.traceBuffer?.record(.park, a: g.header.pointee.id)
            if let lockPointer = m.header.pointee.park_lock {
                m.header.pointee.park_lock = nil
                Unmanaged<RuntimeLock>.fromOpaque(lockPointer).takeUnretainedValue().unlock()
            }
        case .parkReleasingAll:
            m.processor?.counters.add(.parks)
            m.traceBuffer?.record(.park, a: g.header.pointee.id)
            let list = m.header.pointee.park_lock.unsafelyUnwrapped
            m.header.pointee.park_lock = nil
            releaseAfterPark(list)
        case .exit:
            if g.lockedMachine === m {
                // Exited while locked: the thread may carry state the goroutine
                // changed, so it is retired rather than reused (Go's semantics).
                m.lockedGoroutine = nil
                m.retired = true
                counters.add(.threadsRetired)
            }
            recycle(g, cache: m.processor)
        case .preempted:
            let switchedAt = ts_monotonic_ns()
            ts_store_u32(p.preemptWord, 0)
            p.counters.add(.preemptionsDelivered)
            m.traceBuffer?.record(.preemptDelivered, a: g.header.pointee.id)
            finishPreemption(on: m, holding: p, switchedAt: switchedAt)
            requeueBehindExpiredTimers(g, on: p)
        case .syscallNoProcessor:
            putGlobal(g)
            wakeIdleProcessor()
        case .none:
            fatalError("goroutine \(g.id) switched to the scheduler without a reason")
        }
    }

    /// g0, just after a preempted G switched out: closes the P's request record
    /// (PreemptionBreakdown.swift). The exchange makes this the record's only
    /// reader, even if a runnext successor is preempted for the same request later.
    private func finishPreemption(on m: Machine, holding p: Processor, switchedAt: UInt64) {
        let firstEntry = m.header.pointee.sig_first_entry_ns   // this thread's handler wrote it
        m.header.pointee.sig_first_entry_ns = 0
        let signalledAt = p.preemptSignalAt.exchange(0, ordering: .acquiringAndReleasing)
        guard signalledAt != 0 else { return }   // no signal: polling, or already counted
        preemptionSamples.recordCompletion(
            switchedAt: switchedAt, signalledAt: signalledAt,
            signals: p.preemptSignals.load(ordering: .relaxed),
            // An entry before the first signal belongs to an older request.
            firstEntry: firstEntry >= signalledAt ? firstEntry : 0)
    }

    /// Puts a G that gave up its P (yield, preemption) at the tail of the local
    /// queue, after first readying the sleepers whose timers expired while it ran,
    /// so they run before it. Go sends preempted Gs to the global queue instead;
    /// there, every 61st schedule takes the preempted G back before a sleeper
    /// whose timer fired during its slice, which costs that sleeper a whole
    /// second slice (measured: p99 of two slices with one hog at 1 P).
    private func requeueBehindExpiredTimers(_ g: Goroutine, on p: Processor) {
        if pendingTimers.load(ordering: .sequentiallyConsistent) > 0 {
            runExpiredTimers(of: p, onto: p, now: ts_monotonic_ns())
        }
        putLocal(g, on: p, next: false)
    }

    // MARK: Finding work

    /// Returns the next G for `m` to run, blocking (parking the M) until there is
    /// one; nil when the runtime shuts down. Go's findRunnable.
    private func findRunnable(_ m: Machine) -> (UInt, Bool)? {
        top: while true {
            if stopping.load(ordering: .relaxed) {
                if let p = m.processor {
                    p.status.store(ProcessorStatus.stopped.rawValue, ordering: .releasing)
                    p.machine = nil
                    m.processor = nil
                }
                if m.spinning {
                    m.spinning = false
                    spinningMachines.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                }
                return nil
            }
            guard let pRef = m.processorRef else {
                if !stopMachine(m) { return nil }
                continue top
            }
            let found = pRef._withUnsafeGuaranteedRef { p in findLocalWork(m, p) }
            if let found { return found }
            unowned(unsafe) let p = m.processor!
            let anyTimer = pendingTimers.load(ordering: .sequentiallyConsistent) > 0
            let now = anyTimer ? ts_monotonic_ns() : 0
            // Other Ps' expired timers, whatever the spinning budget: a sleeper must
            // not wait for an M that happens to have nothing else to do.
            if anyTimer {
                for index in processors.indices {
                    unowned(unsafe) let other = processors[index]
                    if other !== p { runExpiredTimers(of: other, onto: p, now: now) }
                }
            }
            if let (entry, inherits) = p.runQueue.pop() { return (entry, inherits) }

            // Steal, as a spinning M, if not too many already spin.
            let busy = maxProcs - idleProcessorCount.load(ordering: .sequentiallyConsistent)
            if m.spinning || 2 * spinningMachines.load(ordering: .sequentiallyConsistent) < busy {
                if !m.spinning {
                    m.spinning = true
                    spinningMachines.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    m.counters.add(.spins)
                }
                if let g = stealWork(m, into: p) { return (g.opaque, false) }
            }

            // Nothing: give up the P, then re-check under the spinning protocol.
            lock.lock()
            if stopping.load(ordering: .relaxed) { lock.unlock(); continue top }
            if let g = takeGlobalLocked(into: p, max: 0) {
                lock.unlock()
                return (g.opaque, false)
            }
            m.processor = nil
            pushIdleProcessorLocked(p)
            lock.unlock()

            if m.spinning {
                m.spinning = false
                spinningMachines.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                // Anything queued before our decrement is visible now; anything after
                // it will see spinningMachines == 0 and wake someone.
                if let p2 = idleProcessorIfWorkAppeared(now: ts_monotonic_ns()) {
                    acquire(p2, by: m)
                    m.spinning = true
                    spinningMachines.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    continue top
                }
            }
            if !stopMachine(m) { return nil }
        }
    }

    /// The local part of findRunnable (own timers, fairness tick, own queue,
    /// global queue), with the P borrowed at +0.
    @inline(__always)
    private func findLocalWork(_ m: Machine, _ p: Processor) -> (UInt, Bool)? {
        // Read the clock only when some timer exists (a vDSO call costs more
        // than the rest of a yield).
        let anyTimer = pendingTimers.load(ordering: .sequentiallyConsistent) > 0
        let now = anyTimer ? ts_monotonic_ns() : 0
        if anyTimer { runExpiredTimers(of: p, onto: p, now: now) }

        // Fairness: now and then look at the global queue first.
        if p.scheduleTick.load(ordering: .relaxed) % 61 == 0,
           let g = takeGlobal(into: p, max: 1) {
            return (g.opaque, false)
        }
        if let (entry, inherits) = p.runQueue.pop() { return (entry, inherits) }
        if let g = takeGlobal(into: p, max: 0) { return (g.opaque, false) }
        return nil
    }

    /// After giving up spinning: if some run queue, the global queue or an overdue
    /// timer has work, take an idle P back to go and get it.
    private func idleProcessorIfWorkAppeared(now: UInt64) -> Processor? {
        let work = globalCount.load(ordering: .sequentiallyConsistent) > 0
            || processors.contains { !$0.hasNoLocalWork || $0.timers.earliest.load(ordering: .sequentiallyConsistent) <= now }
        guard work else { return nil }
        return lock.withLock { popIdleProcessorLocked() }
    }

    func stackPool(forNode node: Int?) -> StackPool {
        guard let node, node + 1 < stackPools.count else { return stackPools[0] }
        return stackPools[node + 1]
    }

    /// Steals half of some victim's run queue (up to 4 rounds; runnext only in the
    /// last). Go's stealWork. On a NUMA placement, each round first visits the
    /// victims on the thief's own node, then the others.
    private func stealWork(_ m: Machine, into p: Processor) -> Goroutine? {
        let numaAware = placement.isNUMAAware
        let myNode = placement.node(ofWorker: p.id)
        for round in 0..<(numaAware ? 8 : 4) {
            let lastRound = round >= (numaAware ? 6 : 3)
            let localPass = numaAware && round % 2 == 0
            for index in stealOrder.visit(random: m.random.next()) {
                if stopping.load(ordering: .relaxed) { return nil }
                let victim = processors[index]
                if victim === p { continue }
                if numaAware && (placement.node(ofWorker: index) == myNode) != localPass { continue }
                if let (entry, count) = p.runQueue.steal(from: victim.runQueue, stealRunnext: lastRound) {
                    p.counters.add(.steals, UInt64(count))
                    m.traceBuffer?.record(.steal, a: UInt64(count), b: UInt32(index))
                    return Goroutine.from(opaque: entry)
                }
            }
        }
        return nil
    }

    /// Parks an M that has no P until someone hands it one (true) or the runtime
    /// stops (false). The first idle M becomes the timer sleeper.
    private func stopMachine(_ m: Machine) -> Bool {
        lock.lock()
        if stopping.load(ordering: .relaxed) { lock.unlock(); return false }
        m.prepareToPark()
        idleMachines.append(m)
        var deadline: UInt64? = nil
        if timerSleeper == nil {
            timerSleeper = m
            // Publish the role before reading the heaps (pairs with timerMayNeedAttention).
            timerSleeperDeadline.store(.max, ordering: .sequentiallyConsistent)
            let earliest = earliestTimer()
            timerSleeperDeadline.store(earliest, ordering: .sequentiallyConsistent)
            if earliest != .max { deadline = earliest }
        }
        lock.unlock()
        m.counters.add(.idleSleeps)

        while true {
            _ = m.park(until: deadline)
            lock.lock()
            if adoptHandedProcessorLocked(m) {
                lock.unlock()
                return true
            }
            if stopping.load(ordering: .relaxed) {
                lock.unlock()
                return false
            }
            // Woken for timers (or a stale wake): leave the idle list and try to
            // run them on an idle P; with none free, the busy Ms will.
            if timerSleeper === m { clearTimerSleeperLocked() }
            if let index = idleMachines.firstIndex(where: { $0 === m }) { idleMachines.remove(at: index) }
            if let p = popIdleProcessorLocked() {
                acquire(p, by: m)
                lock.unlock()
                return true
            }
            m.prepareToPark()
            idleMachines.append(m)
            deadline = nil
            lock.unlock()
        }
    }

    /// Caller holds `lock`: adopts the P that startMachine or a locked-goroutine
    /// handoff left in `m.nextProcessor`, if any.
    func adoptHandedProcessorLocked(_ m: Machine) -> Bool {
        guard let p = m.nextProcessor else { return false }
        m.nextProcessor = nil
        m.spinning = m.nextSpinning
        acquire(p, by: m)
        return true
    }

    private func clearTimerSleeperLocked() {
        timerSleeper = nil
        timerSleeperDeadline.store(0, ordering: .sequentiallyConsistent)
    }

    // MARK: Timers

    func earliestTimer() -> UInt64 {
        var earliest = UInt64.max
        for index in processors.indices {
            unowned(unsafe) let p = processors[index]
            earliest = min(earliest, p.timers.earliest.load(ordering: .sequentiallyConsistent))
        }
        return earliest
    }

    /// Readies the Gs whose timers on `source` are due, onto `target` (owned by the caller).
    private func runExpiredTimers(of source: Processor, onto target: Processor, now: UInt64) {
        let due = source.timers.takeExpired(now: now)
        guard !due.isEmpty else { return }
        pendingTimers.wrappingSubtract(due.count, ordering: .sequentiallyConsistent)
        for entry in due { putLocal(Goroutine.from(opaque: entry), on: target, next: false) }
        if due.count > 1 { wakeIdleProcessor() }
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

    // MARK: Introspection

    var idleMachineCount: Int { lock.withLock { idleMachines.count } }
    var machineCount: Int { lock.withLock { machines.count } }

    /// The preemption breakdown so far, with every M's pending delivery samples.
    func preemptionBreakdown() -> PreemptionBreakdown {
        preemptionSamples.snapshot(machines: lock.withLock { machines })
    }

    func snapshotCounters() -> RuntimeCounters {
        var c = RuntimeCounters()
        counters.accumulate(into: &c)
        for p in processors { p.counters.accumulate(into: &c) }
        for m in lock.withLock({ machines }) {
            m.counters.accumulate(into: &c)
            // Written by that M's signal handler; a racy but tear-free read on x86-64.
            c.preemptionsDeferred += ts_load_u64(&m.header.pointee.sig_deferred)
            c.preemptionsForeign += ts_load_u64(&m.header.pointee.sig_foreign)
            c.preemptionsDropped += ts_load_u64(&m.header.pointee.sig_stale)
        }
        return c
    }
}
