// How a goroutine loses its P when it runs longer than the time slice.
//
//   cooperative  sysmon requests nothing. A goroutine switches only at yield(),
//                blocking operations (channels, sleep, mutex, blockingCall) and
//                exit. preemptionPoint() costs one load and never switches,
//                because nobody asks it to: a tight loop starves its P, which is
//                exactly what the starvation experiments must be able to show.
//   polling      sysmon sets the G's preempt_request flag after a slice;
//                preemptionPoint() sees it (one load) and switches.
//   async        as polling, and sysmon also sends SIGURG to the G's M; the
//                signal handler switches at a safe point (AsyncPreemption.swift).
//
// Slice detection: in polling and async modes the switch path reads the clock
// once per new slice (execute() in MachineLoop.swift stores Processor.sliceStart
// at each switch-in that does not inherit the slice; runnext successors and
// cooperative mode read no clock there), so sysmon can wake exactly when a slice
// ends (nextCheck). sysmon also samples each running P's scheduleTick and
// remembers when it first saw the value, the fallback start when no stamp is
// available (Go's sysmon does only this). Separately, the schedule path reads
// the clock whenever some timer is pending (TimerSleeper.swift).
// The mode and slice can change while the runtime runs.
import CTimeslice
import Synchronization

public enum PreemptionMode: String, Codable, CaseIterable, Sendable {
    case cooperative, polling, async
}

/// A struct over raw storage (no reference counting: execute() reads the mode
/// on every switch). The scheduler frees it.
struct PreemptionController {
    private let modeStorage: UnsafeMutablePointer<Atomic<UInt8>>
    private let sliceStorage: UnsafeMutablePointer<Atomic<UInt64>>

    init(mode: PreemptionMode, sliceNanoseconds: UInt64) {
        modeStorage = .allocate(capacity: 1)
        modeStorage.initialize(to: Atomic(0))
        sliceStorage = .allocate(capacity: 1)
        sliceStorage.initialize(to: Atomic(10_000_000))
        set(mode: mode, sliceNanoseconds: sliceNanoseconds)
    }

    func deallocate() {
        modeStorage.deallocate()
        sliceStorage.deallocate()
    }

    var mode: PreemptionMode {
        switch modeStorage.pointee.load(ordering: .relaxed) {
        case 1: return .polling
        case 2: return .async
        default: return .cooperative
        }
    }

    var sliceNanoseconds: UInt64 { sliceStorage.pointee.load(ordering: .relaxed) }

    var needsSysmonTicks: Bool { mode != .cooperative }

    /// When sysmon must next look at the running Ps: the earliest end of a slice
    /// not yet acted on, or the earliest re-send of an outstanding async request.
    /// nil when nothing needs watching (sysmon then backs off, as Go's does).
    func nextCheck(_ processors: [Processor]) -> UInt64? {
        let mode = self.mode
        guard mode != .cooperative else { return nil }
        var earliest = UInt64.max
        for index in processors.indices {
            unowned(unsafe) let p = processors[index]
            guard p.currentStatus == .running else { continue }
            if p.sysmonRequestPending && p.sysmonRequestTick == p.scheduleTick.load(ordering: .relaxed) {
                if mode == .async { earliest = min(earliest, p.sysmonSignalAt &+ p.sysmonResendDelay) }
                continue
            }
            let start = p.sliceStart.load(ordering: .relaxed)
            if start != 0 { earliest = min(earliest, start &+ sliceNanoseconds) }
        }
        return earliest == .max ? nil : earliest
    }

    func set(mode: PreemptionMode, sliceNanoseconds: UInt64) {
        sliceStorage.pointee.store(sliceNanoseconds, ordering: .relaxed)
        let raw: UInt8 = mode == .cooperative ? 0 : mode == .polling ? 1 : 2
        modeStorage.pointee.store(raw, ordering: .relaxed)
    }

    /// sysmon, for a P in `running` status: asks its goroutine to stop once it
    /// has run a whole slice. In async mode a request still outstanding is
    /// signalled again with a back-off (20 µs doubling to 1 ms): a signal that
    /// landed in foreign code (libc, the Swift runtime, the vDSO) has no exit hook.
    /// Requests do not count as sysmon activity, so sysmon still backs off (Go).
    /// Records the detection delay and keeps the P's request record (first signal,
    /// signals sent) for the M that switches the G out (PreemptionBreakdown.swift).
    func checkRunningProcessor(_ p: Processor, now: UInt64, samples: PreemptionSamples,
                               trace: TraceBuffer? = nil) {
        let tick = p.scheduleTick.load(ordering: .relaxed)
        if tick != p.sysmonScheduleTick || p.sysmonScheduleSeen == 0 {
            p.sysmonScheduleTick = tick
            p.sysmonScheduleSeen = now
        }
        let mode = self.mode
        guard mode != .cooperative else { return }
        if p.sysmonRequestPending && p.sysmonRequestTick == tick {
            // Outstanding request for this very run.
            guard mode == .async, now &- p.sysmonSignalAt >= p.sysmonResendDelay,
                  let m = p.machine, let header = ts_load_curg(m.header) else { return }
            samples.collectDeliveries(of: m)
            if !p.sysmonRefusalWarned && now &- p.sysmonFirstSignalAt >= AsyncPreemption.refusalWarningNanoseconds {
                p.sysmonRefusalWarned = true
                AsyncPreemption.warnRefused(goroutine: header.pointee.id, machine: m,
                                            for: now &- p.sysmonFirstSignalAt)
            }
            // Record first, flags next, signal last: the M that switches the G out
            // must find the record. A record already taken means a G of this run was
            // preempted and a runnext successor inherited the slice: a new record.
            if p.preemptSignalAt.load(ordering: .acquiring) == 0 {
                p.preemptSignals.store(1, ordering: .relaxed)
                p.preemptSignalAt.store(ts_monotonic_ns(), ordering: .releasing)
            } else {
                p.preemptSignals.wrappingAdd(1, ordering: .relaxed)
            }
            ts_store_u32(&header.pointee.preempt_request, 1)
            ts_store_u32(p.preemptWord, 1)
            p.counters.add(.preemptionsResent)
            AsyncPreemption.signal(m)
            p.sysmonSignalAt = now
            p.sysmonResendDelay = min(p.sysmonResendDelay * 2, 1_000_000)
            return
        }
        // The slice start stamped at switch-in when known (exact), else when sysmon
        // first saw this tick (up to one sysmon period late, Go's method).
        let stamped = p.sliceStart.load(ordering: .relaxed)
        let start = stamped != 0 && stamped <= now ? stamped : p.sysmonScheduleSeen
        guard now &- start >= sliceNanoseconds else { return }
        guard let m = p.machine, let header = ts_load_curg(m.header) else { return }
        if mode == .async { samples.collectDeliveries(of: m) }
        let issued = ts_monotonic_ns()
        // The request record, before the flags (see the re-send above). Without a
        // signal it is cleared, so no older record is charged to this request.
        if mode == .async {
            p.preemptSignals.store(1, ordering: .relaxed)
            p.preemptSignalAt.store(issued, ordering: .releasing)
        } else {
            p.preemptSignalAt.store(0, ordering: .relaxed)
        }
        ts_store_u32(&header.pointee.preempt_request, 1)
        ts_store_u32(p.preemptWord, 1)
        p.counters.add(.preemptionsRequested)
        trace?.record(.preemptRequested, a: header.pointee.id, b: UInt32(p.id))
        p.sysmonRequestPending = true
        p.sysmonRequestTick = tick
        if mode == .async {
            AsyncPreemption.signal(m)
            p.sysmonSignalAt = now
            p.sysmonResendDelay = 20_000
            p.sysmonFirstSignalAt = now
            p.sysmonRefusalWarned = false
        }
        // Detection delay, only when the slice start is the switch-in stamp (the
        // fallback start is itself up to a sysmon period late). After the signal,
        // so recording never delays it.
        if start == stamped { samples.recordDetect(issued &- (start &+ sliceNanoseconds)) }
    }
}
