// work_stealing: at one P nothing can move; at two Ps work spawned on one P is stolen. The
// steal is made certain, not likely, the way the runtime's own steal test does it: the first
// task holds its P until some task has started on another thread.
import XCTest
@testable import TimesliceLab

final class WorkStealingWorkloadTests: XCTestCase {
    private func configuration(procs: Int, tasks: Int, iterations: Int) throws -> RunConfiguration {
        let spec = try Fixtures.spec(Fixtures.minimal(
            #""matrix": {"runtime": ["timeslice"], "max_procs": [\#(procs)], "preemption": ["cooperative"]}"#,
            workload: #"{"kind": "work_stealing", "tasks": \#(tasks), "task_work": "20us"}"#,
            length: #""iterations": \#(iterations)"#))
        return RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
    }

    func testTwoProcessorsStealFromTheSpawnersQueue() throws {
        let c = try configuration(procs: 2, tasks: 64, iterations: 128)
        var workload = WorkStealingWorkload(p: try XCTUnwrap(c.workload.parameters(as: WorkStealingParameters.self)))
        workload.holdFirstTaskUntilMoved = true
        let result = try runUnderDeadline(60) {
            try workload.runTimeslice(WorkloadContext(configuration: c, progress: ProgressBeacon()))
        }
        XCTAssertGreaterThan(result.counters["runtime_steals"] ?? 0, 0, "the idle P stole from the spawner's")
        XCTAssertGreaterThan(result.counters["tasks_moved"] ?? 0, 0, "some task ran on another thread")
        XCTAssertEqual(result.latency.count, 128, "one sample per task of two whole rounds")
        XCTAssertEqual(result.counters["rounds"], 2)
        XCTAssertEqual(result.counters["tasks_per_round"], 64)
    }

    func testOneProcessorNeverSteals() throws {
        let c = try configuration(procs: 1, tasks: 64, iterations: 100)
        var workload = WorkStealingWorkload(p: try XCTUnwrap(c.workload.parameters(as: WorkStealingParameters.self)))
        workload.holdFirstTaskUntilMoved = true  // ignored at one P (it would wait forever)
        let result = try runUnderDeadline(60) {
            try workload.runTimeslice(WorkloadContext(configuration: c, progress: ProgressBeacon()))
        }
        XCTAssertEqual(result.counters["runtime_steals"], 0)
        XCTAssertEqual(result.counters["tasks_moved"], 0)
        // Whole rounds: 100 samples need two rounds of 64.
        XCTAssertEqual(result.latency.count, 128)
        XCTAssertEqual(result.counters["rounds"], 2)
        // A task's latency includes its queueing: at one P the last task of a round to run waits
        // for all the others, so it takes about the round's total work (half is a safe bound;
        // a task's own run time is a few dozen µs).
        let sizes = WorkStealingWorkload.taskSizes(WorkStealingParameters(tasks: 64, taskWorkNanoseconds: 20_000), seed: c.seed)
        XCTAssertGreaterThanOrEqual(result.latency.histogram.max, sizes.reduce(0, +) / 2)
    }

    func testTaskSizesAreUnevenAndReproducible() {
        let p = WorkStealingParameters(tasks: 256, taskWorkNanoseconds: 20_000)
        let a = WorkStealingWorkload.taskSizes(p, seed: 5)
        XCTAssertEqual(a, WorkStealingWorkload.taskSizes(p, seed: 5))
        XCTAssertNotEqual(a, WorkStealingWorkload.taskSizes(p, seed: 6))
        XCTAssertEqual(a.count, 256)
        // Exponential, mean 20 µs: the mean of 256 is within 5 standard errors (20/√256 µs each).
        XCTAssertEqual(Double(a.reduce(0, +)) / 256, 20_000, accuracy: 5 * 20_000 / 16)
        XCTAssertGreaterThan(a.max()!, 10 * a.min()!, "uneven, not a constant size")
    }

    func testThreadsHaveNoVariant() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["threads"]}"#,
                                                      workload: #"{"kind": "work_stealing"}"#, length: #""iterations": 10"#))
        let c = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        XCTAssertThrowsError(try c.workload.run(WorkloadContext(configuration: c, progress: ProgressBeacon()))) {
            XCTAssertTrue($0 is WorkloadUnavailable, "\($0)")
        }
    }
}
