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
// The handler writes only its own M's words (ts_m.sig_*), a few stores; every
// histogram is recorded under `lock`, by sysmon (detect, deliveries) or by g0
// after the switch (the other three), at most once per request or signal.
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
}

/// The live breakdown of one scheduler. Recorded on sysmon and on g0 only.
final class PreemptionSamples {
    private let lock = RuntimeLock()
    @exclusivity(unchecked) private var breakdown = PreemptionBreakdown()

    private static func clamp(_ value: UInt64) -> UInt64 {
        max(1, min(value, PreemptionBreakdown.highestTrackableValue))
    }

    /// sysmon, once per request.
    func recordDetect(_ nanoseconds: UInt64) {
        lock.withLock { _ = breakdown.detect.record(Self.clamp(nanoseconds)) }
    }

    /// g0, after a preemption switched the G out: `signalledAt` is the request's
    /// first signal (0: none, e.g. polling mode), `firstEntry` the first handler
    /// entry for it (0: none, or one that predates the request).
    func recordCompletion(switchedAt: UInt64, signalledAt: UInt64, signals: UInt32, firstEntry: UInt64) {
        lock.withLock {
            _ = breakdown.signalToSwitch.record(Self.clamp(switchedAt &- signalledAt))
            _ = breakdown.resends.record(UInt64(max(signals, 1)))
            if firstEntry != 0 && firstEntry <= switchedAt {
                _ = breakdown.safepointWait.record(Self.clamp(switchedAt - firstEntry))
            }
        }
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
            _ = breakdown.signalDelivery.record(Self.clamp(ts_delivery_sample(m.header, next)))
            next &+= 1
        }
        m.deliveriesCollected = written
    }

    /// A copy, after collecting every M's pending delivery samples.
    func snapshot(machines: [Machine]) -> PreemptionBreakdown {
        lock.withLock {
            for m in machines { collectDeliveriesLocked(of: m) }
            return breakdown
        }
    }

    /// The signal-to-switch distribution in brief (Runtime.preemptionLatency).
    func signalToSwitchSummary() -> LatencySummary {
        lock.withLock { LatencySummary(breakdown.signalToSwitch) }
    }
}
