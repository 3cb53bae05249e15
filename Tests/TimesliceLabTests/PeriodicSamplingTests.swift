// The one accounting of periodic probes (PeriodicSampling): every intended deadline counted
// exactly once, missed periods recorded with the lateness they would have had, censoring keeps
// what was seen, and percentiles appear only where the count supports them.
import Histogram
import XCTest
@testable import TimesliceLab

final class PeriodicSamplingTests: XCTestCase {
    let ms: UInt64 = 1_000_000

    func schedule(warmup: UInt64 = 0, duration: UInt64) -> ProbeSchedule {
        ProbeSchedule(start: 0, interval: ms, warmupEnd: warmup, end: warmup + duration, iterations: nil)
    }

    /// Feeds a probe that wakes `late(k)` after each deadline it slept to.
    func run(_ s: ProbeSchedule, late: (UInt64) -> UInt64) -> PeriodicSampling {
        var p = PeriodicSampling(schedule: s)
        var next: UInt64? = s.firstDeadline
        while let d = next { next = p.wake(deadline: d, at: d + late(d)) }
        return p
    }

    func testOnTimeProbeRecordsEveryDeadlineOnce() {
        let s = schedule(warmup: 5 * ms, duration: 100 * ms)
        XCTAssertEqual(s.intendedSamples, 100)
        let p = run(s) { _ in 1_000 }
        XCTAssertEqual(p.account.recordedSamples, 100)
        XCTAssertEqual(p.account.wakeups, 100)
        XCTAssertEqual(p.account.missedPeriods, 0)
        XCTAssertEqual(p.account.warmupWakeups, 4, "deadlines 1..4 ms fall in the 5 ms warm-up")
    }

    func testMissedPeriodsAreRecordedWithTheLatenessTheyWouldHaveHad() {
        // Every 10th deadline wakes 4.5 ms late: the 4 deadlines it sleeps through are missed.
        let s = schedule(duration: 100 * ms)
        let p = run(s) { d in d % (10 * ms) == 0 ? 4_500_000 : 0 }
        let a = p.account
        XCTAssertEqual(a.recordedSamples, a.intendedSamples, "corrected: one sample per intended deadline")
        XCTAssertEqual(a.wakeups + a.missedPeriods, a.intendedSamples)
        XCTAssertEqual(a.missedPeriods, 9 * 4, "deadlines 10..90 ms stall, 4 missed periods each")
        // The missed deadlines carry 3.5, 2.5, 1.5 and 0.5 ms: the last one below one interval is
        // recorded too (recordCorrectedValue would drop it and the count would fall short).
        let h = p.corrected.histogram
        XCTAssertEqual(h.count(within: 499_000...501_000), 9)
        XCTAssertGreaterThan(p.corrected.histogram.mean, p.raw.histogram.mean * 1.5,
                             "the raw distribution under-weights stalls: one sample where the schedule wanted five")
    }

    func testSawtoothGivesTheCorrectedMedianOfHalfTheStall() {
        // A probe that only runs every 10 ms (a hog with a 10 ms slice at 1 P): its corrected
        // median is ~5 ms while the raw one-per-wake-up median is ~10 ms.
        let s = schedule(duration: 1_000 * ms)
        let p = run(s) { _ in 10 * ms }
        let corrected = PercentileSummary(p.corrected.histogram)
        XCTAssertEqual(p.account.intendedSamples, 999, "deadlines 1 .. 999 ms lie before the 1 s end")
        XCTAssertEqual(p.account.recordedSamples, 999)
        XCTAssertEqual(p.account.deadlineMissRatio, Double(p.account.missedPeriods) / 999)
        XCTAssertGreaterThan(corrected.p50!, 3 * ms)
        XCTAssertLessThan(corrected.p50!, 7 * ms)
    }

    func testCensoringKeepsPreStallSamplesAsLowerBounds() {
        var p = PeriodicSampling(schedule: schedule(duration: 1_000 * ms))
        var next: UInt64? = p.nextDeadline
        for _ in 0..<300 { next = p.wake(deadline: next!, at: next! + 1_000) }
        // The probe stalls; the monitor notices at 900 ms.
        p.censor(at: 900 * ms)
        let a = p.account
        XCTAssertTrue(a.censored)
        XCTAssertEqual(a.wakeups, 300, "samples before the stall are kept")
        XCTAssertEqual(a.stallNanoseconds, 900 * ms - 301 * ms)
        XCTAssertEqual(a.recordedSamples, 899, "deadlines 301..899 ms recorded as lower bounds")
        XCTAssertEqual(a.unobservedPeriods, a.intendedSamples - 899)
        XCTAssertEqual(p.corrected.histogram.max, UInt64(p.corrected.histogram.highestEquivalentForValue(599 * ms)))
        p.censor(at: 950 * ms)
        XCTAssertEqual(p.account.recordedSamples, 899, "censoring is idempotent")
    }

    func testIterationRunsStopAtTheBudget() {
        let s = ProbeSchedule(start: 0, interval: ms, warmupEnd: 0, end: nil, iterations: 50)
        let p = run(s) { d in d == 10 * ms ? 20 * ms : 0 }
        XCTAssertEqual(p.account.intendedSamples, 50)
        XCTAssertEqual(p.account.recordedSamples, 50)
    }

    func testPercentilesOnlyWhereTheCountSupportsThem() {
        var r = LatencyRecorder()
        for v in 1...999 { r.record(UInt64(v)) }
        let s = PercentileSummary(r.histogram)
        XCTAssertNotNil(s.p99)
        XCTAssertNil(s.p999, "999 samples cannot support p99.9")
        XCTAssertNil(s.p9999)
        r.record(1_000)
        XCTAssertNotNil(PercentileSummary(r.histogram).p999)
        var one = LatencyRecorder()
        one.record(5)
        XCTAssertNil(PercentileSummary(one.histogram).p50, "one sample supports no percentile, only min and max")
        // JSON: withheld percentiles are null, not missing.
        let json = String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
        XCTAssertTrue(json.contains("\"p999\":null"), json)
    }

    func testRecordingFrozenByTheMonitorStopsTheProbe() {
        let rec = ProbeRecording()
        let first = rec.begin(schedule(duration: 100 * ms))
        XCTAssertNotNil(rec.wake(deadline: first, at: first))
        let taken = rec.freezeAndCensor(at: 50 * ms) {}
        XCTAssertEqual(taken?.account.censored, true)
        XCTAssertEqual(taken?.account.wakeups, 1)
        XCTAssertNil(rec.wake(deadline: 2 * ms, at: 2 * ms), "after the freeze the probe records nothing")
        XCTAssertNil(rec.finished())
        XCTAssertNil(ProbeRecording().freezeAndCensor(at: 1) {}, "a probe that never began has nothing to censor")
    }

    func testBootstrapIntervalBracketsTheMedianAndIsReproducible() {
        let values: [Double] = [10, 11, 12, 13, 30]
        let a = RepetitionAggregator.bootstrapMedianCI(values, seed: 7)
        let b = RepetitionAggregator.bootstrapMedianCI(values, seed: 7)
        XCTAssertEqual(a, b)
        XCTAssertLessThanOrEqual(a.low, 12)
        XCTAssertGreaterThanOrEqual(a.high, 12)
        XCTAssertGreaterThanOrEqual(a.low, 10)
        XCTAssertLessThanOrEqual(a.high, 30)
    }

    func testKSStatisticOfIdenticalAndDisjointDistributions() {
        var a = LatencyRecorder(), b = LatencyRecorder()
        for v in 1...1_000 { a.record(UInt64(v) * 1_000); b.record(UInt64(v) * 1_000) }
        XCTAssertEqual(DistributionComparison(a.histogram, b.histogram).ksStatistic, 0)
        var c = LatencyRecorder()
        for v in 1...1_000 { c.record(UInt64(v) * 1_000 + 10_000_000) }
        let far = DistributionComparison(a.histogram, c.histogram)
        XCTAssertEqual(far.ksStatistic, 1)
        XCTAssertEqual(CrossCheckVerdict(reference: "a", candidate: "b", a.histogram, b.histogram).verdict, "agree")
        XCTAssertEqual(CrossCheckVerdict(reference: "a", candidate: "c", a.histogram, c.histogram).verdict, "differ")
    }
}
