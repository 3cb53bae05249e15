// open_loop: the arrival schedule is a pure function of the seed (so the number of requests a
// run records is known in advance), and latency runs from the intended arrival, so a stalled
// server is charged for the requests that were due while it stalled. Behaviour, not timing:
// every bound below is computed from the schedule, none is a performance threshold.
import XCTest
@testable import TimesliceLab
import Timeslice

final class OpenLoopWorkloadTests: XCTestCase {
    private func configuration(matrix: String, workload: String, length: String, warmup: String = "0s",
                               seed: Int = 42) throws -> RunConfiguration {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": \#(matrix), "warmup": "\#(warmup)", "seed": \#(seed)"#,
                                                      workload: workload, length: length))
        return RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
    }

    private func parameters(_ c: RunConfiguration) -> OpenLoopParameters {
        guard let p = c.workload.parameters(as: OpenLoopParameters.self) else { fatalError("not open_loop") }
        return p
    }

    /// The window a run of `c` uses, shifted to start at 0: the schedule depends only on
    /// offsets from the start, so the same requests (shifted) come out.
    private func window(_ c: RunConfiguration) -> MeasurementWindow {
        MeasurementWindow(start: 0, warmup: c.warmupNanoseconds, length: c.length)
    }

    // MARK: The schedule alone

    func testScheduleIsAFunctionOfTheSeedWithPoissonCountsAndTheBimodalMix() throws {
        var p = OpenLoopParameters()
        p.rate = 20_000
        let w = MeasurementWindow(start: 1_000, warmup: 0, length: .duration(nanoseconds: 1_000_000_000))
        let a = Array(OpenLoopSchedule(p, seed: 7, window: w))
        XCTAssertEqual(a, Array(OpenLoopSchedule(p, seed: 7, window: w)), "same seed, same requests")
        XCTAssertNotEqual(a, Array(OpenLoopSchedule(p, seed: 8, window: w)), "another seed, other requests")

        // Poisson: rate × duration = 20000 expected, standard deviation √20000 ≈ 141. With a fixed
        // seed this is deterministic; 5σ catches a wrong rate or unit, not bad luck.
        XCTAssertEqual(Double(a.count), 20_000, accuracy: 5 * 20_000.0.squareRoot())
        XCTAssertTrue(zip(a, a.dropFirst()).allSatisfy { $0.intended <= $1.intended }, "arrivals in order")
        XCTAssertTrue(a.allSatisfy { $0.intended > w.start && $0.intended < w.end! })
        // Exponential gaps: the mean is 1/rate = 50 µs, and about e^-1 of gaps exceed it.
        let gaps = zip(a, a.dropFirst()).map { Double($1.intended - $0.intended) }
        XCTAssertEqual(gaps.reduce(0, +) / Double(gaps.count), 50_000, accuracy: 2_500)
        XCTAssertEqual(Double(gaps.filter { $0 > 50_000 }.count) / Double(gaps.count), 0.3679, accuracy: 0.02)

        // Bimodal: 0.5 % slow of 20000 is 100 expected, σ ≈ 10.
        let slow = a.filter(\.isSlow)
        XCTAssertEqual(Double(slow.count), 100, accuracy: 50)
        XCTAssertTrue(slow.allSatisfy { $0.serviceNanoseconds == p.slowServiceNanoseconds })
        XCTAssertTrue(a.filter { !$0.isSlow }.allSatisfy { $0.serviceNanoseconds == p.fastServiceNanoseconds })
        XCTAssertTrue(a.allSatisfy { !$0.warmup }, "no warm-up in this window")
    }

    func testScheduleHonoursWarmupAndIterationCounts() {
        var p = OpenLoopParameters()
        p.rate = 10_000
        let w = MeasurementWindow(start: 5_000_000, warmup: 10_000_000, length: .iterations(300))
        let a = Array(OpenLoopSchedule(p, seed: 3, window: w))
        XCTAssertEqual(a.filter { !$0.warmup }.count, 300, "exactly `iterations` measured requests")
        XCTAssertTrue(a.allSatisfy { $0.warmup == ($0.intended < w.warmupEnd) })
        // 10 ms of warm-up at 10000/s: about 100 requests (σ = 10).
        XCTAssertEqual(Double(a.filter(\.warmup).count), 100, accuracy: 50)
        XCTAssertFalse(a.last!.warmup, "the schedule ends on a measured request")
    }

    // MARK: Runs

    /// The timeslice server records one sample per measured request of the schedule: none is
    /// dropped when the server falls behind, none is added.
    func testTimesliceRecordsExactlyTheScheduledRequests() throws {
        let c = try configuration(matrix: #"{"runtime": ["timeslice"], "max_procs": [2], "preemption": ["async"], "time_slice": ["1ms"]}"#,
                                  workload: #"{"kind": "open_loop", "rate": 5000, "slow_fraction": 0.05, "slow_service": "200us", "workers": 3}"#,
                                  length: #""duration": "200ms""#, warmup: "50ms")
        let expected = Array(OpenLoopSchedule(parameters(c), seed: c.seed, window: window(c)))
        let context = WorkloadContext(configuration: c, progress: ProgressBeacon())
        let result = try runUnderDeadline(60) { try c.workload.run(context) }

        let measured = expected.filter { !$0.warmup }
        XCTAssertEqual(result.latency.count, UInt64(measured.count))
        XCTAssertEqual(result.counters["requests_generated"], UInt64(expected.count))
        XCTAssertEqual(result.counters["samples_warmup_discarded"], UInt64(expected.count - measured.count))
        XCTAssertEqual(result.counters["slow_requests"], UInt64(measured.filter(\.isSlow).count))
        XCTAssertEqual(result.counters["workers"], 3)
        XCTAssertEqual(context.progress.count, UInt64(expected.count), "one beat per served request")
        XCTAssertNotNil(result.counters["runtime_switches"], "the runtime's counters are merged in")
        // A request takes at least its service time (or 0 for the 1 µs ones, rounded by the histogram).
        XCTAssertGreaterThan(result.latency.histogram.max, 0)
    }

    func testThreadsRecordExactlyTheScheduledRequests() throws {
        let c = try configuration(matrix: #"{"runtime": ["threads"]}"#,
                                  workload: #"{"kind": "open_loop", "rate": 5000, "workers": 2}"#,
                                  length: #""iterations": 400"#)
        let expected = Array(OpenLoopSchedule(parameters(c), seed: c.seed, window: window(c)))
        let result = try runUnderDeadline(60) {
            try c.workload.run(WorkloadContext(configuration: c, progress: ProgressBeacon()))
        }
        XCTAssertEqual(result.latency.count, 400)
        // The decomposition: every measured request is in each part, and the parts add up.
        XCTAssertEqual(Set(result.histograms.keys), ["generator_lag_ns", "queue_wait_ns", "service_ns"])
        for (name, h) in result.histograms { XCTAssertEqual(h.count, 400, name) }
        let parts = result.histograms.values.map { $0.histogram.mean }.reduce(0, +)
        XCTAssertEqual(parts, result.latency.histogram.mean, accuracy: result.latency.histogram.mean * 0.01 + 10,
                       "generator lag + queue wait + service = response time (means, within bucket rounding)")
        XCTAssertEqual(result.counters["requests_generated"], UInt64(expected.count))
        XCTAssertEqual(result.counters["slow_requests"], UInt64(expected.filter { $0.isSlow && !$0.warmup }.count))
        XCTAssertNil(result.counters["runtime_switches"])
    }

    /// One P, cooperative, one worker that stalls `stall` on the first request. The generator
    /// cannot run during the stall (the only P is busy and nothing preempts), so every request
    /// due meanwhile is sent late, in a burst. Measured from when it was sent, such a request
    /// would look instant; measured from its intended arrival it carries the stall.
    func testLatencyIsChargedFromIntendedArrivalThroughAStall() throws {
        let c = try configuration(matrix: #"{"runtime": ["timeslice"], "max_procs": [1], "preemption": ["cooperative"]}"#,
                                  workload: #"{"kind": "open_loop", "rate": 2000, "fast_service": "1us", "slow_fraction": 0, "workers": 1}"#,
                                  length: #""iterations": 200"#)
        let stall: UInt64 = 40_000_000
        let schedule = Array(OpenLoopSchedule(parameters(c), seed: c.seed, window: window(c)))
        let first = schedule[0].intended
        let workload = OpenLoopWorkload(p: try XCTUnwrap(c.workload.parameters(as: OpenLoopParameters.self)))
        let context = WorkloadContext(configuration: c, progress: ProgressBeacon())
        let stalled = StopFlag()
        let result = try runUnderDeadline(60) {
            try workload.runTimeslice(context) { _ in
                guard !stalled.isSet else { return }
                stalled.set()
                let end = monotonicNanoseconds() + stall
                while monotonicNanoseconds() < end {}
            }
        }
        XCTAssertEqual(result.latency.count, 200)
        // Requests due in the first half of the stall complete after it ends: each is at
        // least stall/2 late (less 1 ms for the histogram's buckets). The count comes from the
        // schedule, not from the clock.
        let dueEarly = schedule.filter { $0.intended - first <= stall / 2 }.count
        XCTAssertGreaterThan(dueEarly, 10, "the seed gives a meaningful number of requests")
        XCTAssertGreaterThanOrEqual(result.latency.histogram.count(within: (stall / 2 - 1_000_000)...LatencyRecorder.highestTrackable),
                                    UInt64(dueEarly))
        // The generator itself was held off the CPU through the stall. When exactly the
        // worker began stalling depends on scheduling, so the bound is half the stall,
        // like the latency bound above (an exact bound failed by 0.7 ms under load).
        XCTAssertLessThan(schedule[1].intended, first + stall, "the second request is due during the stall")
        XCTAssertGreaterThanOrEqual(result.counters["generator_lag_max_ns"] ?? 0, stall / 2)
        XCTAssertGreaterThanOrEqual(result.histograms["generator_lag_ns"]?.histogram.max ?? 0, stall / 2 - 1_000_000,
                                    "the stall shows up as generator lag in the decomposition")
    }

    func testOtherRuntimesAreUnavailableNotMeasured() throws {
        let c = try configuration(matrix: #"{"runtime": ["swift-concurrency"]}"#,
                                  workload: #"{"kind": "open_loop"}"#, length: #""iterations": 10"#)
        XCTAssertThrowsError(try c.workload.run(WorkloadContext(configuration: c, progress: ProgressBeacon()))) {
            XCTAssertTrue($0 is WorkloadUnavailable, "\($0)")
        }
    }
}
