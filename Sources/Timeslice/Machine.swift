// M: an OS thread that runs goroutines. Its own pthread stack is g0, where the
// scheduler loop runs; goroutines run on their own stacks and switch back to g0
// to yield, park, exit or be preempted.
import CTimeslice
import Glibc
import Synchronization

/// Why a goroutine switched to g0 (stored in ts_m.switch_reason by the G).
enum SwitchReason: UInt32 {
    case none = 0
    case yield = 1            // back to the run queue tail
    case park = 2             // waiting; g0 releases ts_m.park_lock after the switch
    case exit = 3             // finished; g0 recycles it
    case preempted = 4        // sysmon asked it to stop; g0 requeues it behind expired sleepers
    case syscallNoProcessor = 5  // left blockingCall and found no P; g0 queues it globally
    case parkReleasingAll = 6 // waiting in select; g0 releases every lock of the ParkLockList at park_lock
}

// References between G, M and P are unowned(unsafe): the scheduler keeps every
// G (allGoroutines), P (processors) and M (machines) alive for its whole life,
// and retain/release on these hot links cost more than the rest of a switch.
final class Machine {
    let header: UnsafeMutablePointer<ts_m>
    let id: Int
    unowned(unsafe) let scheduler: Scheduler
    /// The same scheduler, for +0 borrowing on hot paths.
    let schedulerRef: Unmanaged<Scheduler>
    let counters = CounterBlock()
    /// The preemption stages this M's g0 records (PreemptionBreakdown.swift).
    let preemptionSamples = MachinePreemptionSamples()

    /// The P this M holds, or nil. Written only by this M's thread, except that a
    /// waker sets `nextProcessor` (under the scheduler lock) for it to adopt.
    var processor: Processor? {
        get { processorRef?.takeUnretainedValue() }
        set {
            processorRef = newValue.map { Unmanaged.passUnretained($0) }
            header.pointee.p_preempt = newValue?.preemptWord
        }
    }
    /// Storage of `processor`, unretained: the schedule path borrows it with
    /// `_withUnsafeGuaranteedRef`, which costs no reference counting.
    @exclusivity(unchecked) var processorRef: Unmanaged<Processor>?
    /// A P handed over by startMachine, adopted when this M wakes. Guarded by the scheduler lock.
    @exclusivity(unchecked) unowned(unsafe) var nextProcessor: Processor?
    /// Whether the M should start out spinning (set with nextProcessor).
    @exclusivity(unchecked) var nextSpinning = false
    /// True while this M looks for work to steal; counted in Scheduler.spinningMachines.
    @exclusivity(unchecked) var spinning = false
    /// A goroutine on this M was the first to wait on a socket (NetpollScheduling.swift,
    /// firstNetpollWaiter): when this M's g0 finds other work to run, it wakes an idle M
    /// into epoll_wait; when it finds none, it blocks there itself. Set by the goroutine,
    /// cleared by g0, both on this thread.
    @exclusivity(unchecked) var owesNetpoller = false
    /// The P given up on entering blockingCall, tried first on the way out.
    @exclusivity(unchecked) unowned(unsafe) var previousProcessor: Processor?
    /// The goroutine running on this M (nil on g0). Written by this M only.
    @exclusivity(unchecked) unowned(unsafe) var current: Goroutine?
    /// The goroutine locked to this M (LockOSThread), or nil. Set and cleared by
    /// that goroutine while it runs here; read by this M's loop.
    @exclusivity(unchecked) unowned(unsafe) var lockedGoroutine: Goroutine?
    /// This M's trace ring when tracing (Trace.swift), written only by this M.
    @exclusivity(unchecked) var traceBuffer: TraceBuffer?
    /// The NUMA node this M is confined to by placement, or nil. Set at start.
    @exclusivity(unchecked) var node: Int?
    /// Set when a goroutine exited while locked: the thread exits instead of being reused.
    @exclusivity(unchecked) var retired = false
    /// Delivery samples of this M's handler already moved into the breakdown
    /// (compared with ts_m.sig_delivery_seq). Guarded by PreemptionSamples' lock.
    @exclusivity(unchecked) var deliveriesCollected: UInt32 = 0
    /// Steal-order randomness; this M only.
    @exclusivity(unchecked) var random: FastRandom
    /// True while this M, idle, is committed to (or in) epoll_wait:
    /// wake() then also interrupts the netpoller. Written by this M only,
    /// sequentially consistent (the handshake in NetpollScheduling.swift).
    let blockedInNetpoll = Atomic<Bool>(false)

    init(id: Int, scheduler: Scheduler) {
        self.id = id
        self.scheduler = scheduler
        schedulerRef = Unmanaged.passUnretained(scheduler)
        random = FastRandom(seed: UInt64(id + 1) &* 0x9E37_79B9_7F4A_7C15 ^ ts_monotonic_ns())
        header = .allocate(capacity: 1)
        header.initialize(to: ts_m())
        header.pointee.owner = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        header.deallocate()
        counters.deallocate()
    }

    /// The M running the calling thread, or nil on a thread the runtime does not own.
    @inline(__always)
    static var current: Machine? {
        guard let m = ts_current_m() else { return nil }
        return Unmanaged<Machine>.fromOpaque(m.pointee.owner).takeUnretainedValue()
    }

    // MARK: Parking (the M's own futex word; see Scheduler.stopMachine)

    /// Called under the scheduler lock before the M registers as idle.
    func prepareToPark() { ts_store_u32(&header.pointee.park_word, 0) }

    /// Sleeps until `wake()` or the deadline (monotonic ns; nil = forever).
    /// Returns false on timeout.
    func park(until deadline: UInt64?) -> Bool {
        while ts_load_u32(&header.pointee.park_word) == 0 {
            var timeout: Int64 = -1
            if let deadline {
                let now = ts_monotonic_ns()
                if now >= deadline { return false }
                timeout = Int64(deadline - now)
            }
            let r = ts_futex_wait(&header.pointee.park_word, 0, timeout)
            if r == ETIMEDOUT && ts_load_u32(&header.pointee.park_word) == 0 { return false }
        }
        return true
    }

    func wake() {
        ts_store_u32(&header.pointee.park_word, 1)
        _ = ts_futex_wake(&header.pointee.park_word, 1)
        // An idle M may sleep in epoll_wait instead (NetpollScheduling.swift):
        // the park word store, then this load, against its store then load.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if blockedInNetpoll.load(ordering: .sequentiallyConsistent) { scheduler.netpoller.interrupt() }
    }

    // MARK: Thread

    /// Starts the OS thread; it runs the scheduler loop until shutdown.
    func startThread() {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, &attributes, machineThreadMain, context)
        pthread_attr_destroy(&attributes)
        if rc != 0 {
            fatalError("timeslice: pthread_create failed for M\(id): \(String(cString: strerror(rc)))")
        }
    }
}

private let machineThreadMain: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { raw in
    let m = Unmanaged<Machine>.fromOpaque(raw!).takeRetainedValue()
    m.scheduler.runMachine(m)
    return nil
}
