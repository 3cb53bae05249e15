// The public entry points: start a runtime, spawn, yield, sleep, read counters.
import CTimeslice
import Glibc
import Synchronization
import TimesliceHost

public enum Runtime {
    /// Runs `body` as the main goroutine of a fresh runtime and returns its
    /// result once it finishes. Goroutines still alive then are abandoned (as
    /// when a Go program's main returns). Must not be called from a goroutine.
    public static func run<T>(_ configuration: RuntimeConfiguration = .fromEnvironment(),
                              _ body: @escaping () -> T) -> T {
        precondition(ts_current_g() == nil, "timeslice: Runtime.run cannot be nested inside a goroutine")
        let scheduler: Scheduler
        do {
            scheduler = try Scheduler(configuration: configuration)
        } catch {
            fatalError("timeslice: placement: \(error) (check it first with Runtime.validate)")
        }
        // The calling thread is the "main" thread of cyclictest's --mainaffinity.
        let mainAffinity = try? Affinity.current()
        if let plan = scheduler.placement.plan, plan.mainCPUs != nil {
            scheduler.placement.apply(plan.mainCPUs, thread: "main")
        }
        defer {
            if scheduler.placement.plan?.mainCPUs != nil, let mainAffinity {
                try? Affinity.setCurrentThread(mainAffinity)
            }
        }
        let outcome = MainOutcome<T>()
        registry.withLock { $0 = scheduler }
        scheduler.start {
            let value = body()
            outcome.finish(value)
        }
        let value = outcome.wait()
        let stuck = scheduler.shutdown(waitNanoseconds: 2_000_000_000)
        if stuck > 0 {
            fputs("timeslice: \(stuck) M(s) still run goroutines that never yield; abandoning them\n", stderr)
        }
        if let trace = scheduler.trace {
            do {
                try trace.write(origin: scheduler.startTime)
            } catch {
                fputs("timeslice: cannot write the trace to \(trace.path): \(error)\n", stderr)
            }
        }
        lastCounters.withLock { $0 = scheduler.snapshotCounters() }
        lastPlacement.withLock { $0 = scheduler.placement.report() }
        // After shutdown: every M and sysmon have stopped, so the copy is complete.
        let breakdown = scheduler.preemptionBreakdown()
        lastPreemptionLatency.withLock { $0 = LatencySummary(breakdown.signalToSwitch) }
        lastPreemptionBreakdown.withLock { $0 = breakdown }
        registry.withLock { $0 = nil }
        return value
    }

    /// Counters of the running runtime, or of the last one that finished.
    public static var counters: RuntimeCounters {
        withPreemptionDisabled {
            if let s = registry.withLock({ $0 }) { return s.snapshotCounters() }
            return lastCounters.withLock { $0 }
        }
    }

    /// Time from sysmon's SIGURG to the goroutine being switched out (async mode),
    /// of the running runtime or the last one that finished.
    public static var preemptionLatency: LatencySummary {
        withPreemptionDisabled {
            if let s = registry.withLock({ $0 }) { return LatencySummary(s.preemptionBreakdown().signalToSwitch) }
            return lastPreemptionLatency.withLock { $0 }
        }
    }

    /// Where preemption time goes, stage by stage (see PreemptionBreakdown), of the
    /// running runtime or the last one that finished; empty before any run.
    /// `asDictionary()` names the histograms preempt_detect_ns,
    /// preempt_signal_delivery_ns, preempt_safepoint_wait_ns, preempt_resends and
    /// preempt_signal_to_switch_ns.
    public static var preemptionBreakdown: PreemptionBreakdown {
        withPreemptionDisabled {
            if let s = registry.withLock({ $0 }) { return s.preemptionBreakdown() }
            return lastPreemptionBreakdown.withLock { $0 } ?? PreemptionBreakdown()
        }
    }

    /// Checks that `configuration` can run on this machine (placement above all),
    /// throwing the message a user should see.
    public static func validate(_ configuration: RuntimeConfiguration) throws {
        _ = try PlacementState(spec: configuration.placement, workers: configuration.resolvedMaxProcs,
                               allowed: configuration.placementCPUs)
    }

    /// The placement each M, sysmon and the main thread asked for and got, of the
    /// running runtime or the last one that finished.
    public static var placement: [AppliedPlacement] {
        withPreemptionDisabled {
            if let s = registry.withLock({ $0 }) { return s.placement.report() }
            return lastPlacement.withLock { $0 }
        }
    }

    /// The order in which P `thief` of the running runtime visits steal victims in
    /// one steal attempt (all rounds; on a NUMA placement each round visits the
    /// thief's own node first), each victim with its node; empty when no runtime
    /// runs or `thief` is not a P. For diagnosis and the in-guest NUMA check.
    public static func stealVisitOrder(thief: Int, seed: UInt64) -> [StealVisit] {
        withPreemptionDisabled {
            guard let s = registry.withLock({ $0 }), (0..<s.maxProcs).contains(thief) else { return [] }
            return s.stealVisitOrder(thief: thief, seed: seed)
        }
    }

    /// The NUMA node worker (P) `index` of the running runtime is confined to, or nil.
    public static func workerNode(_ index: Int) -> Int? {
        withPreemptionDisabled { registry.withLock { $0?.placement.node(ofWorker: index) } }
    }

    /// The NUMA node holding the running goroutine's current stack page (via
    /// move_pages), or nil outside a goroutine or when the kernel cannot say.
    public static var currentStackNode: Int? {
        guard let g = ts_current_g() else { return nil }
        var marker: UInt8 = 0
        let page = withUnsafeMutablePointer(to: &marker) { p -> UnsafeMutableRawPointer in
            let address = UInt(bitPattern: p) & ~UInt(NUMAMemory.pageSize - 1)
            return UnsafeMutableRawPointer(bitPattern: address)!
        }
        _ = g
        let nodes = NUMAMemory.nodes(ofPages: page, count: 1)
        return nodes.first.flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Why SIGURG preemption cannot work on this machine, or nil when it can.
    public static var asyncPreemptionUnavailable: String? { AsyncPreemption.install() }

    /// The number of Ps of the running runtime (0 when none runs).
    public static var maxProcs: Int { withPreemptionDisabled { registry.withLock { $0?.maxProcs ?? 0 } } }

    /// Goroutines spawned and not yet finished in the running runtime.
    public static var liveGoroutines: Int {
        withPreemptionDisabled { registry.withLock { $0?.liveGoroutines.load(ordering: .relaxed) ?? 0 } }
    }

    /// Changes the preemption mode and slice of the running runtime.
    public static func setPreemption(_ mode: PreemptionMode, timeSliceNanoseconds: UInt64) {
        precondition(timeSliceNanoseconds >= RuntimeConfiguration.minimumTimeSliceNanoseconds,
                     "timeslice: time slice must be at least 50us")
        withPreemptionDisabled { registry.withLock { $0?.preemption.set(mode: mode, sliceNanoseconds: timeSliceNanoseconds) } }
    }

    /// The scheduler of the run in progress, for tests that look at its state.
    static var runningScheduler: Scheduler? { registry.withLock { $0 } }

    // The scheduler of the run in progress. Written by run() only.
    private static let registry = Mutex<Scheduler?>(nil)
    private static let lastCounters = Mutex(RuntimeCounters())
    private static let lastPlacement = Mutex<[AppliedPlacement]>([])
    private static let lastPreemptionLatency = Mutex(LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, max: 0))
    private static let lastPreemptionBreakdown = Mutex<PreemptionBreakdown?>(nil)
}

/// Hands the main goroutine's result to the thread blocked in Runtime.run.
private final class MainOutcome<T>: @unchecked Sendable {
    private let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    // Written by the main goroutine before the release store of `word`; read by
    // the waiting thread after its acquire load.
    private var value: T?

    init() { word.initialize(to: 0) }
    deinit { word.deallocate() }

    func finish(_ v: T) {
        value = v
        ts_store_u32(word, 1)
        _ = ts_futex_wake(word, 1)
    }

    func wait() -> T {
        while ts_load_u32(word) == 0 { _ = ts_futex_wait(word, 0, -1) }
        return value!
    }
}

/// Starts a goroutine running `body`.
public func go(_ body: @escaping () -> Void) {
    withRuntimeEntry("go") { _, m in m.scheduler.spawn(body) }
}

/// Puts the running goroutine at the back of its P's run queue and runs another.
/// On a thread the runtime does not own, yields the OS thread.
public func yield() {
    guard let g = ts_current_g() else {
        sched_yield()
        return
    }
    disablePreemption(g)
    switchToScheduler(.yield)   // counted on g0
    enablePreemption(g)
}

/// A point where the running goroutine gives up its P if sysmon asked it to
/// (polling and async modes). One load when nothing was asked.
@inline(__always)
public func preemptionPoint() {
    guard let g = ts_current_g() else { return }
    if ts_load_u32_relaxed(&g.pointee.preempt_request) != 0 { return preemptAtPoint(g) }
    if let word = ts_current_m().unsafelyUnwrapped.pointee.p_preempt, ts_load_u32_relaxed(word) != 0 {
        preemptAtPoint(g)
    }
}

@inline(never)
private func preemptAtPoint(_ g: UnsafeMutablePointer<ts_g>) {
    // Not while the thread holds a thread-owned lock (ts_locks.h): the last release
    // honours a pending request, sysmon's next signal an outstanding one.
    guard g.pointee.nopreempt == 0, g.pointee.in_syscall == 0, ts_lock_count() == 0 else { return }
    disablePreemption(g)
    ts_store_u32(&g.pointee.preempt_request, 0)
    if let word = ts_current_m().unsafelyUnwrapped.pointee.p_preempt { ts_store_u32(word, 0) }
    switchToScheduler(.preempted)
    enablePreemption(g)
}

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC), the runtime's time base.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 { ts_monotonic_ns() }

/// Parks the running goroutine for at least `nanoseconds`.
public func sleep(nanoseconds: UInt64) {
    sleep(untilMonotonic: ts_monotonic_ns() &+ nanoseconds)
}

/// Parks the running goroutine until CLOCK_MONOTONIC reaches `deadline` (ns), as
/// clock_nanosleep(TIMER_ABSTIME) does for a thread: the deadline is the timer's, so no time
/// passes between reading the clock and arming the timer. A deadline in the past parks and
/// wakes at the next timer check, as a zero-length sleep does.
public func sleep(untilMonotonic deadline: UInt64) {
    withRuntimeEntry("sleep") { g, m in
        let p = m.processor!
        // Insert and park under one hold of the heap's lock: whoever pops the timer
        // takes that lock, which g0 releases only once we are off our stack.
        // Lock order: timer heap, then scheduler (timerMayNeedAttention).
        p.timers.lock.lock()
        m.scheduler.pendingTimers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        p.timers.insertLocked(deadline: deadline, target: .goroutine(UInt(bitPattern: g.pointee.owner)))
        m.scheduler.timerMayNeedAttention(deadline: deadline)
        parkCurrent(releasing: p.timers.lock)
    }
}

/// Parks the running goroutine for at least `duration`.
public func sleep(for duration: Duration) {
    let (seconds, attoseconds) = duration.components
    let ns = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
    sleep(nanoseconds: UInt64(ns))
}
