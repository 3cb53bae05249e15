// Where the time of a preemption goes, one HdrHistogram per stage (1 ns .. 60 s,
// 3 significant digits), per run of the runtime.
//
//   preempt_detect_ns           slice end (the P's switch-in stamp + the slice) ->
//                               sysmon issues the request (flag, and signal in async
//                               mode). sysmon, once per request; polling and async.
//   preempt_signal_delivery_ns  sysmon's clock just before tgkill -> the handler's
//                               clock at entry on the target M, for every delivered
//                               signal that carries a stamp (re-sends included).
//   preempt_safepoint_wait_ns   the first handler entry that found the request on
//                               the G's stack (deferred, foreign or redirected) -> g0
//                               resumed with the G switched out. Async mode.
//   preempt_resends             signals sent for the request, first one included
//                               (so >= 1), once per completed async preemption.
//   preempt_signal_to_switch_ns first signal of the request -> g0 resumed with the
//                               G switched out (what Runtime.preemptionLatency sums up).
//
// Who writes what. A request belongs to one run of a P (sysmon keys it by the
// P's scheduleTick; runnext successors inherit it). sysmon writes the P's
// request record (Processor.preemptSignalAt / preemptSignals) before it sets the
// request flags and signals, so the M that switches the G out finds the record.
// The handler writes only its own M's words (ts_m.sig_*), a few stores. sysmon
// records detect and deliveries under PreemptionSamples.lock; each M's g0 records
// the other three, after the switch, into that M's own histograms under that M's
// own lock (MachinePreemptionSamples), at most once per request or signal. One lock
// and one set of histograms shared by sysmon and every g0 cost each preemption
// ~350 ns of cache misses on the preempted M (the lock word, the histograms'
// headers, which sysmon had just written, in perf annotate); the snapshot merges.
import CTimeslice
import Histogram

/// The latency decomposition of preemption requests of one runtime run.
public struct PreemptionBreakdown: Sendable {
    public static let detectKey = "preempt_detect_ns"
    public static let signalDeliveryKey = "preempt_signal_delivery_ns"
    public static let safepointWaitKey = "preempt_safepoint_wait_ns"
    public static let resendsKey = "preempt_resends"
    public static let signalToSwitchKey = "preempt_signal_to_switch_ns"

    /// Slice end -> sysmon issues the request (polling and async).
    public var detect: Histogram<UInt64>
    /// tgkill (sysmon's clock just before it) -> signal handler entry on the target thread.
    public var signalDelivery: Histogram<UInt64>
    /// First handler entry that found the request -> the goroutine switched out.
    public var safepointWait: Histogram<UInt64>
    /// Signals sent per completed async preemption, the first included (>= 1).
    public var resends: Histogram<UInt64>
    /// First signal sent -> the goroutine switched out.
    public var signalToSwitch: Histogram<UInt64>

    public init() {
        detect = Self.makeHistogram()
        signalDelivery = Self.makeHistogram()
        safepointWait = Self.makeHistogram()
        resends = Self.makeHistogram()
        signalToSwitch = Self.makeHistogram()
    }

    /// Key -> histogram, keys as the static `…Key` constants.
    public func asDictionary() -> [String: Histogram<UInt64>] {
        [Self.detectKey: detect, Self.signalDeliveryKey: signalDelivery, Self.safepointWaitKey: safepointWait,
         Self.resendsKey: resends, Self.signalToSwitchKey: signalToSwitch]
    }

    static let highestTrackableValue: UInt64 = 60_000_000_000

    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableValue,
                          numberOfSignificantValueDigits: .three)
    }

    static func clamp(_ value: UInt64) -> UInt64 {
        max(1, min(value, highestTrackableValue))
    }
}

/// The live breakdown of one scheduler, sysmon's stages (detect, deliveries); the
/// g0 stages are per M (MachinePreemptionSamples). Recorded on sysmon only.
final class PreemptionSamples {
    private let lock = RuntimeLock()
    /// Only `detect` and `signalDelivery` are recorded here.
    @exclusivity(unchecked) private var breakdown = PreemptionBreakdown()

    /// sysmon, once per request.
    func recordDetect(_ nanoseconds: UInt64) {
        lock.withLock { _ = breakdown.detect.record(PreemptionBreakdown.clamp(nanoseconds)) }
    }

    /// Moves the delivery samples m's handler left since the last call into the
    /// histogram. sysmon calls it before each signal to m; readers for the rest.
    func collectDeliveries(of m: Machine) {
        lock.withLock { collectDeliveriesLocked(of: m) }
    }

    private func collectDeliveriesLocked(of m: Machine) {
        let written = ts_delivery_count(m.header)
        var next = m.deliveriesCollected
        // The slot the handler writes next aliases the oldest one: never read it.
        if written &- next > UInt32(TS_DELIVERY_RING) - 1 { next = written &- (UInt32(TS_DELIVERY_RING) - 1) }
        while next != written {
            _ = breakdown.signalDelivery.record(PreemptionBreakdown.clamp(ts_delivery_sample(m.header, next)))
            next &+= 1
        }
        m.deliveriesCollected = written
    }

    /// A copy, after collecting every M's pending delivery samples, with every M's g0
    /// stages merged in (each under its own M's lock, none nested in this one).
    func snapshot(machines: [Machine]) -> PreemptionBreakdown {
        var merged = lock.withLock {
            for m in machines { collectDeliveriesLocked(of: m) }
            return breakdown
        }
        for m in machines { m.preemptionSamples.add(to: &merged) }
        return merged
    }
}

/// The stages one M's g0 records after switching a preempted G out (signal-to-switch,
/// resends, safepoint wait). Written only by that M's g0; `lock` orders it against
/// snapshot readers (PreemptionSamples.snapshot), so it stays on the M's CPU. The
/// histograms (~220 KB each) are made at the M's first recorded preemption: Ms that
/// never switch a preempted G out (blocking-call Ms, cooperative runs) carry none.
final class MachinePreemptionSamples {
    private let lock = RuntimeLock()
    @exclusivity(unchecked) private var signalToSwitch: Histogram<UInt64>?
    @exclusivity(unchecked) private var resends: Histogram<UInt64>?
    @exclusivity(unchecked) private var safepointWait: Histogram<UInt64>?

    /// g0, after a preemption switched the G out: `signalledAt` is the request's
    /// first signal, `firstEntry` the first handler entry for it (0: none, or one
    /// that predates the request).
    func recordCompletion(switchedAt: UInt64, signalledAt: UInt64, signals: UInt32, firstEntry: UInt64) {
        lock.lock()
        if _slowPath(signalToSwitch == nil) {
            signalToSwitch = PreemptionBreakdown.makeHistogram()
            resends = PreemptionBreakdown.makeHistogram()
            safepointWait = PreemptionBreakdown.makeHistogram()
        }
        _ = signalToSwitch!.record(PreemptionBreakdown.clamp(switchedAt &- signalledAt))
        _ = resends!.record(UInt64(max(signals, 1)))
        if firstEntry != 0 && firstEntry <= switchedAt {
            _ = safepointWait!.record(PreemptionBreakdown.clamp(switchedAt - firstEntry))
        }
        lock.unlock()
    }

    /// Adds this M's histograms to `breakdown` (any thread).
    func add(to breakdown: inout PreemptionBreakdown) {
        lock.withLock {
            if let signalToSwitch { breakdown.signalToSwitch.add(signalToSwitch) }
            if let resends { breakdown.resends.add(resends) }
            if let safepointWait { breakdown.safepointWait.add(safepointWait) }
        }
    }
}
