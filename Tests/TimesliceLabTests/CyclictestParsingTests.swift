// cyclictest's verbose output (`-v -N`, as rt-tests 2.x prints it) parsed into the wakeup
// workload's result: warm-up cycles dropped, missed periods counted as the lab's probe does.
import XCTest
@testable import TimesliceLab
import TimesliceHost

final class CyclictestParsingTests: XCTestCase {
    static let canned = """
        Max CPUs = 2
        Online CPUs = 2
        Thread 0 Interval: 1000
               0:       0:   80409
               0:       1:   70434
               0:       2:   70164
               0:       3:   69142
               0:       4: 2500000
               0:       5:   69223
        """

    func testVerboseOutputParses() throws {
        let out = try CyclictestOutput(parsing: Self.canned)
        XCTAssertEqual(out.intervalsMicroseconds, [0: 1000])
        XCTAssertEqual(out.samples.count, 6)
        XCTAssertEqual(out.samples[0], .init(thread: 0, cycle: 0, latencyNanoseconds: 80_409))
        XCTAssertEqual(out.samples[4].latencyNanoseconds, 2_500_000)
        XCTAssertThrowsError(try CyclictestOutput(parsing: "       0:       7:   \n"))
    }

    private func plan(_ length: String, warmup: String, measured: CPUSet? = nil) throws -> (WakeupWorkload.CyclictestPlan, WakeupParameters) {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["cyclictest"]}, "warmup": "\#(warmup)""#,
                                                      workload: #"{"kind": "wakeup", "interval": "1ms"}"#, length: length))
        let config = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        guard let p = config.workload.parameters(as: WakeupParameters.self) else { throw CyclictestParseError(message: "not wakeup") }
        return (WakeupWorkload.cyclictestPlan(p, config, measuredCPUs: measured, allowedCPUs: CPUSet([0, 1])), p)
    }

    func testPlanMatchesTheThreadsProbe() throws {
        let (p, _) = try plan(#""duration": "5s""#, warmup: "2500us")
        XCTAssertEqual(p.cycles, 5_002, "every deadline of warm-up plus window: 1 .. 5002 ms")
        XCTAssertEqual(p.arguments, ["-v", "-N", "-t", "1", "-d", "0", "-i", "1000", "-l", "5002", "--default-system", "-q"])
        XCTAssertFalse(p.arguments.contains("-p"), "SCHED_OTHER like the threads probe: no priority")
        XCTAssertEqual(p.schedule.intendedSamples, 5_000)
        let (pinned, _) = try plan(#""duration": "5s""#, warmup: "2500us", measured: CPUSet([1]))
        XCTAssertEqual(Array(pinned.arguments.suffix(4)), ["-a", "1", "--mainaffinity", "0"],
                       "measuring thread pinned, the printing main thread kept off its CPU")
        let (long, _) = try plan(#""duration": "30s""#, warmup: "0s")
        XCTAssertFalse(long.arguments.contains("-q"), "more cycles than cyclictest's verbose buffer holds: print as it goes")
    }

    func testReplayUsesTheLabsAccounting() throws {
        // Warm-up 2.5 ms: deadlines 1 and 2 ms are warm-up; then a budget of 4 samples.
        let (p, params) = try plan(#""iterations": 4"#, warmup: "2500us")
        let r = try WakeupWorkload.cyclictestResult(try CyclictestOutput(parsing: Self.canned), plan: p,
                                                    intervalNanoseconds: params.intervalNanoseconds)
        let s = try XCTUnwrap(r.sampling)
        // Cycles 2, 3, 4 woke for 3, 4, 5 ms; cycle 4 was 2.5 ms late (at 7.5 ms), so deadline
        // 6 ms passed meanwhile and is recorded 1.5 ms late: the fourth sample ends the budget.
        XCTAssertEqual(s.warmupWakeups, 2)
        XCTAssertEqual(s.recordedSamples, 4)
        XCTAssertEqual(s.wakeups, 3)
        XCTAssertEqual(s.missedPeriods, 1)
        XCTAssertEqual(r.rawLatency?.count, 3)
        XCTAssertEqual(Double(PercentileSummary(r.latency.histogram).max), 2_500_000, accuracy: 2_500)
        XCTAssertEqual(r.counters["cyclictest_cycles"], 6)
    }

    func testAnotherIntervalOrNoSamplesIsAnError() throws {
        let (p, _) = try plan(#""iterations": 3"#, warmup: "0s")
        XCTAssertThrowsError(try WakeupWorkload.cyclictestResult(try CyclictestOutput(parsing: Self.canned), plan: p, intervalNanoseconds: 500_000))
        XCTAssertThrowsError(try WakeupWorkload.cyclictestResult(try CyclictestOutput(parsing: "Max CPUs = 2\n"), plan: p, intervalNanoseconds: 1_000_000))
        let gap = Self.canned.replacingOccurrences(of: "       0:       2:   70164\n", with: "")
        XCTAssertThrowsError(try WakeupWorkload.cyclictestResult(try CyclictestOutput(parsing: gap), plan: p, intervalNanoseconds: 1_000_000),
                             "a cycle missing from the output (verbose buffer overflow) is an error, not a silent gap")
    }
}
