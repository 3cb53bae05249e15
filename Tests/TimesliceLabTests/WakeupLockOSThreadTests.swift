// The `lock_os_thread` axis reaches the timeslice wakeup probe: the probe goroutine locks its
// OS thread for the measurement (and says so in its counters), and does not otherwise.
import XCTest
@testable import TimesliceLab

final class WakeupLockOSThreadTests: XCTestCase {
    private func run(lock: Bool, procs: Int) throws -> WorkloadResult {
        let spec = try Fixtures.spec(Fixtures.minimal(
            #""matrix": {"runtime": ["timeslice"], "max_procs": [\#(procs)], "preemption": ["async"], "lock_os_thread": [\#(lock)]}"#,
            workload: #"{"kind": "wakeup", "interval": "500us", "hogs": 1, "hog_kind": "tight"}"#,
            length: #""iterations": 50"#))
        let c = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        XCTAssertEqual(c.point.lockOSThread, lock)
        return try runUnderDeadline(60) {
            try c.workload.run(WorkloadContext(configuration: c, progress: ProgressBeacon()))
        }
    }

    func testLockedProbeRunsLockedAndStillSamples() throws {
        for procs in [1, 2] {
            let r = try run(lock: true, procs: procs)
            XCTAssertEqual(r.counters["probe_locked_os_thread"], 1, "procs=\(procs)")
            XCTAssertEqual(r.latency.count, 50, "procs=\(procs)")
            XCTAssertGreaterThan(r.counters["hog_rounds"] ?? 0, 0, "the hog ran beside the locked probe, procs=\(procs)")
        }
    }

    func testUnlockedProbeIsNotLocked() throws {
        let r = try run(lock: false, procs: 1)
        XCTAssertEqual(r.counters["probe_locked_os_thread"], 0)
        XCTAssertEqual(r.latency.count, 50)
    }
}
