// The preemption latency breakdown (Runtime.preemptionBreakdown): which
// histograms each mode fills, and the bookkeeping identities between them.
// No timing thresholds: only counts and value ranges.
import CTimeslice
@testable import Timeslice
import XCTest

final class PreemptionBreakdownTests: XCTestCase {
    private struct Outcome {
        var duringRun: PreemptionBreakdown
        var afterRun: PreemptionBreakdown
        var counters: RuntimeCounters
        var latency: LatencySummary
    }

    /// One P, 1 ms slices: a hog spins for ~200 ms (calling preemptionPoint()
    /// when `pollInHog`) beside a goroutine sleeping 1 ms at a time.
    private func hogBesideSleeper(_ mode: PreemptionMode, pollInHog: Bool = false) -> Outcome {
        let duringRun = runWithDeadline(60, maxProcs: 1, preemption: mode,
                                        timeSliceNanoseconds: 1_000_000) { () -> PreemptionBreakdown in
            let hogDone = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
            hogDone.initialize(to: 0)
            defer { hogDone.deallocate() }
            let wg = WaitGroup()
            wg.add(2)
            go {
                while ts_load_u32(hogDone) == 0 { Timeslice.sleep(nanoseconds: 1_000_000) }
                wg.done()
            }
            go {
                let end = monotonicNanoseconds() + 200_000_000
                var x: UInt64 = 1
                while monotonicNanoseconds() < end {
                    for i in 0..<1000 { x = x &* 2862933555777941757 &+ UInt64(i) }
                    if pollInHog { preemptionPoint() }
                }
                if x == 7 { print(x) }
                ts_store_u32(hogDone, 1)
                wg.done()
            }
            wg.wait()
            return Runtime.preemptionBreakdown
        }
        return Outcome(duringRun: duringRun, afterRun: Runtime.preemptionBreakdown,
                       counters: Runtime.counters, latency: Runtime.preemptionLatency)
    }

    func testKeysAreTheDocumentedNames() {
        XCTAssertEqual(Set(PreemptionBreakdown().asDictionary().keys),
                       ["preempt_detect_ns", "preempt_signal_delivery_ns", "preempt_safepoint_wait_ns",
                        "preempt_resends", "preempt_signal_to_switch_ns"])
        XCTAssertTrue(PreemptionBreakdown().asDictionary().values.allSatisfy { $0.totalCount == 0 })
    }

    func testAsyncModeFillsEveryStage() {
        let outcome = hogBesideSleeper(.async)
        let b = outcome.afterRun
        for (name, histogram) in b.asDictionary() {
            XCTAssertGreaterThan(histogram.totalCount, 0, name)
        }
        XCTAssertGreaterThanOrEqual(b.resends.min, 1, "the first signal counts")
        // One signal-to-switch sample and one resend count per completed preemption.
        XCTAssertEqual(b.signalToSwitch.totalCount, b.resends.totalCount)
        XCTAssertLessThanOrEqual(b.safepointWait.totalCount, b.signalToSwitch.totalCount)
        // Each delivery sample consumes one stamp, and each stamp is one sent signal.
        XCTAssertLessThanOrEqual(b.signalDelivery.totalCount,
                                 outcome.counters.preemptionsRequested + outcome.counters.preemptionsResent)
        // Detection is per request; a completed async preemption had one.
        XCTAssertLessThanOrEqual(b.detect.totalCount, outcome.counters.preemptionsRequested)
        XCTAssertLessThanOrEqual(b.signalToSwitch.totalCount, outcome.counters.preemptionsDelivered)
        XCTAssertEqual(outcome.latency.count, b.signalToSwitch.totalCount,
                       "Runtime.preemptionLatency summarises the same samples")
        // Readable while the runtime runs, and only growing afterwards.
        let during = outcome.duringRun.asDictionary()
        for (name, histogram) in b.asDictionary() {
            XCTAssertLessThanOrEqual(during[name]!.totalCount, histogram.totalCount, name)
        }
        XCTAssertGreaterThan(outcome.duringRun.signalToSwitch.totalCount, 0)
    }

    func testPollingModeDetectsButSendsNoSignal() {
        let outcome = hogBesideSleeper(.polling, pollInHog: true)
        let b = outcome.afterRun
        XCTAssertGreaterThan(outcome.counters.preemptionsDelivered, 0, "the hog must be preempted at its points")
        XCTAssertGreaterThan(b.detect.totalCount, 0)
        XCTAssertEqual(b.signalDelivery.totalCount, 0)
        XCTAssertEqual(b.safepointWait.totalCount, 0)
        XCTAssertEqual(b.resends.totalCount, 0)
        XCTAssertEqual(b.signalToSwitch.totalCount, 0)
    }

    func testCooperativeModeRecordsNothing() {
        let outcome = hogBesideSleeper(.cooperative)
        for (name, histogram) in outcome.afterRun.asDictionary() {
            XCTAssertEqual(histogram.totalCount, 0, name)
        }
        XCTAssertEqual(outcome.latency.count, 0)
    }
}
