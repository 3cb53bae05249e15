// cyclictest's verbose output (`-v -N`, as rt-tests 2.x prints it) parsed into the wakeup
// workload's result: warm-up cycles dropped, missed periods counted as the lab's probe does.
import XCTest
@testable import TimesliceLab

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

    private func plan(_ length: String, warmup: String) throws -> (WakeupWorkload.CyclictestPlan, WakeupParameters) {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["cyclictest"]}, "warmup": "\#(warmup)""#,
                                                      workload: #"{"kind": "wakeup", "interval": "1ms"}"#, length: length))
        let config = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        guard case .wakeup(let p) = config.workload else { throw CyclictestParseError(message: "not wakeup") }
        return (WakeupWorkload.cyclictestPlan(p, config), p)
    }

    func testPlanMatchesTheThreadsProbe() throws {
        // Deadlines at 1, 2 ms are inside a 2.5 ms warm-up (k * 1 ms < 2.5 ms), 3 ms is not.
        let (p, _) = try plan(#""duration": "5s""#, warmup: "2500us")
        XCTAssertEqual(p.warmupCycles, 2)
        XCTAssertEqual(p.cycles, 5_002)
        XCTAssertEqual(p.arguments, ["-v", "-N", "-t", "1", "-d", "0", "-i", "1000", "-l", "5002", "--default-system"])
        XCTAssertFalse(p.arguments.contains("-p"), "SCHED_OTHER like the threads probe: no priority")
        let (exact, _) = try plan(#""iterations": 100"#, warmup: "2ms")
        XCTAssertEqual(exact.warmupCycles, 1, "the deadline at exactly 2 ms is measured, as in the lab")
        XCTAssertEqual(exact.keep, 100)
    }

    func testResultDropsWarmupAndCountsMissedPeriods() throws {
        let (p, params) = try plan(#""iterations": 3"#, warmup: "2500us")
        let r = try WakeupWorkload.cyclictestResult(try CyclictestOutput(parsing: Self.canned), plan: p,
                                                    intervalNanoseconds: params.intervalNanoseconds)
        XCTAssertEqual(r.latency.count, 3, "cycles 0 and 1 are warm-up; the budget keeps 3 of the rest")
        XCTAssertEqual(r.counters["samples_warmup_discarded"], 2)
        XCTAssertEqual(r.counters["missed_periods"], 2, "2.5 ms late at a 1 ms period skips two deadlines")
        XCTAssertEqual(r.counters["cyclictest_cycles"], 6)
        XCTAssertEqual(Double(PercentileSummary(r.latency.histogram).min), 69_142, accuracy: 70)
    }

    func testAnotherIntervalOrNoSamplesIsAnError() throws {
        let (p, _) = try plan(#""iterations": 3"#, warmup: "0s")
        XCTAssertThrowsError(try WakeupWorkload.cyclictestResult(try CyclictestOutput(parsing: Self.canned), plan: p, intervalNanoseconds: 500_000))
        XCTAssertThrowsError(try WakeupWorkload.cyclictestResult(try CyclictestOutput(parsing: "Max CPUs = 2\n"), plan: p, intervalNanoseconds: 1_000_000))
    }
}
