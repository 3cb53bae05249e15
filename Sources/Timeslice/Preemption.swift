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
    /// [0]: sysmon's moving average of the handover time (its request to the next slice
    /// start on that P), ns, ×8 fixed point; [1]: the slack derived from it (handoverSlack).
    /// Written by sysmon only; [1] is read by every g0 at each slice start.
    private let handoverStorage: UnsafeMutablePointer<Atomic<UInt64>>

    init(mode: PreemptionMode, sliceNanoseconds: UInt64) {
        modeStorage = .allocate(capacity: 1)
        modeStorage.initialize(to: Atomic(0))
        sliceStorage = .allocate(capacity: 1)
        sliceStorage.initialize(to: Atomic(10_000_000))
        handoverStorage = .allocate(capacity: 2)
        (handoverStorage + 0).initialize(to: Atomic(8 * PreemptionController.initialHandoverNanoseconds))
        (handoverStorage + 1).initialize(to: Atomic(2 * PreemptionController.initialHandoverNanoseconds))
        set(mode: mode, sliceNanoseconds: sliceNanoseconds)
    }

    func deallocate() {
        modeStorage.deallocate()
        sliceStorage.deallocate()
        handoverStorage.deallocate()
    }

    // Anticipating the next slice. When sysmon asks a goroutine to stop at time T, the
    // next goroutine's slice starts a moment later, at T + h (the handover: signal,
    // switch, schedule), and ends at T + h + slice. Sleeping until a re-send check
    // and letting that slice start wake it (noteSliceStart) cost sysmon two wake-ups
    // per preempted slice; instead sysmon sleeps until T + slice + slack, with slack
    // twice its moving average of h, and a slice start wakes it only when it would
    // sleep past the slice's end by more than that slack. So a preempted slice costs
    // one wake-up, and a slice runs at most ~slack long beyond its nominal end (the
    // detection delay in the preemption breakdown shows by how much).
    static let initialHandoverNanoseconds: UInt64 = 5_000
    static let minimumSlackNanoseconds: UInt64 = 2_000

    /// How late past a slice's end sysmon may look at it (see above): at most a quarter slice.
    var handoverSlack: UInt64 { (handoverStorage + 1).pointee.load(ordering: .relaxed) }

    /// sysmon: a slice started `nanoseconds` after its request on the same P.
    func recordHandover(_ nanoseconds: UInt64) {
        guard nanoseconds < 1_000_000 else { return }   // not a handover: an idle P, a re-send
        let average8 = (handoverStorage + 0).pointee.load(ordering: .relaxed)
        let updated8 = average8 - average8 / 8 + nanoseconds
        (handoverStorage + 0).pointee.store(updated8, ordering: .relaxed)
        let slack = min(max(updated8 / 4, Self.minimumSlackNanoseconds), max(sliceNanoseconds / 4, Self.minimumSlackNanoseconds))
        (handoverStorage + 1).pointee.store(slack, ordering: .relaxed)
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
    func nextCheck(_ processors: [Processor], now: UInt64) -> UInt64? {
        let mode = self.mode
        guard mode != .cooperative else { return nil }
        var earliest = UInt64.max
        for index in processors.indices {
            unowned(unsafe) let p = processors[index]
            guard p.currentStatus == .running else { continue }
            if p.sysmonRequestPending && p.sysmonRequestTick == p.scheduleTick.load(ordering: .relaxed) {
                // The next slice's end, anticipated (once: a request still pending then, as
                // in polling mode's loops without a preemption point, waits for its re-send
                // or the run's end); and a re-send when due.
                let anticipated = p.sysmonSignalAt &+ sliceNanoseconds &+ handoverSlack
                if anticipated > now { earliest = min(earliest, anticipated) }
                if mode == .async { earliest = min(earliest, resendDue(p)) }
                continue
            }
            let start = p.sliceStart.load(ordering: .relaxed)
            if start != 0 { earliest = min(earliest, start &+ sliceNanoseconds) }
        }
        return earliest == .max ? nil : earliest
    }

    /// A signal nobody refused is re-sent only after this long: it was delivered and
    /// switched the goroutine out (the run is over, nothing to re-send), or the thread
    /// is blocked in the kernel (blocked-thread detection's business). Checking 20 µs
    /// after every signal instead cost sysmon a second wake-up per preemption, about
    /// half its CPU time at small slices on this machine.
    static let unrefusedResendNanoseconds: UInt64 = 1_000_000

    /// sysmon: when the outstanding async request on `p` is due for a re-send. After the
    /// back-off when the M's handler asked for one since the signal (it refused: foreign
    /// code, a switch window; it also woke sysmon if it slept past TS_FIRST_RESEND_NS),
    /// else after unrefusedResendNanoseconds, and never before the next slice's anticipated
    /// end (a slice longer than that would otherwise cost a wake-up in its middle).
    func resendDue(_ p: Processor) -> UInt64 {
        var delay = p.sysmonResendDelay
        if let m = p.machine, ts_load_u32(&m.header.pointee.sig_resend_asks) == p.sysmonResendAsksAtSignal {
            delay = max(delay, Self.unrefusedResendNanoseconds, sliceNanoseconds &+ handoverSlack)
        }
        return p.sysmonSignalAt &+ delay
    }

    /// sysmon, just before signalling `m` for `p`'s run: remembers the handler's asks.
    private func noteSignal(_ p: Processor, _ m: Machine, now: UInt64) {
        p.sysmonResendAsksAtSignal = ts_load_u32(&m.header.pointee.sig_resend_asks)
        p.sysmonSignalAt = now
    }

    func set(mode: PreemptionMode, sliceNanoseconds: UInt64) {
        sliceStorage.pointee.store(sliceNanoseconds, ordering: .relaxed)
        let raw: UInt8 = mode == .cooperative ? 0 : mode == .polling ? 1 : 2
        modeStorage.pointee.store(raw, ordering: .relaxed)
    }

    /// sysmon, for a P in `running` status: asks its goroutine to stop once it
    /// has run a whole slice. In async mode a request still outstanding is
    /// signalled again with a back-off (20 µs doubling to 1 ms) once the handler
    /// asked for it (resendDue): a signal that landed in foreign code (libc, the
    /// Swift runtime, the vDSO) has no exit hook. Unrefused, after 1 ms at the earliest.
    /// Requests do not count as sysmon activity, so sysmon still backs off (Go).
    /// Records the detection delay and keeps the P's request record (first signal,
    /// signals sent) for the M that switches the G out (PreemptionBreakdown.swift).
    func checkRunningProcessor(_ p: Processor, now: UInt64, samples: PreemptionSamples,
                               trace: TraceBuffer? = nil) {
        let tick = p.scheduleTick.load(ordering: .relaxed)
        if tick != p.sysmonScheduleTick || p.sysmonScheduleSeen == 0 {
            // A new run. If it follows a request of ours, its stamped start times the handover.
            let stamped = p.sliceStart.load(ordering: .relaxed)
            if p.sysmonRequestPending && p.sysmonRequestTick != tick && stamped > p.sysmonSignalAt {
                recordHandover(stamped - p.sysmonSignalAt)
            }
            p.sysmonScheduleTick = tick
            p.sysmonScheduleSeen = now
        }
        let mode = self.mode
        guard mode != .cooperative else { return }
        if p.sysmonRequestPending && p.sysmonRequestTick == tick {
            // Outstanding request for this very run.
            guard mode == .async, now >= resendDue(p),
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
            noteSignal(p, m, now: now)
            AsyncPreemption.signal(m)
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
            p.sysmonSignalAt = now   // the request's time: the next slice is anticipated from it
        }
        ts_store_u32(&header.pointee.preempt_request, 1)
        ts_store_u32(p.preemptWord, 1)
        p.counters.add(.preemptionsRequested)
        trace?.record(.preemptRequested, a: header.pointee.id, b: UInt32(p.id))
        p.sysmonRequestPending = true
        p.sysmonRequestTick = tick
        if mode == .async {
            noteSignal(p, m, now: now)
            AsyncPreemption.signal(m)
            p.sysmonResendDelay = UInt64(TS_FIRST_RESEND_NS)
            p.sysmonFirstSignalAt = now
            p.sysmonRefusalWarned = false
        }
        // Detection delay, only when the slice start is the switch-in stamp (the
        // fallback start is itself up to a sysmon period late). After the signal,
        // so recording never delays it.
        if start == stamped { samples.recordDetect(issued &- (start &+ sliceNanoseconds)) }
    }
}
