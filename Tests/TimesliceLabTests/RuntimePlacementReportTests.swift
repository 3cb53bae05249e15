// A pinned `timeslice` configuration reports, in results.json, what the runtime
// pinned each of its threads to and whether the kernel confirmed it.
import XCTest
@testable import TimesliceLab

final class RuntimePlacementReportTests: XCTestCase {
    func testPinnedTimesliceRowIsVerifiedPerThread() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(
            #""matrix": {"runtime": ["timeslice"], "max_procs": [1], "preemption": ["async"], "placement": [{"explicit": [0]}]}"#,
            workload: #"{"kind": "wakeup", "interval": "500us"}"#,
            length: #""iterations": 20"#))
        let c = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        let context = WorkloadContext(configuration: c, progress: ProgressBeacon())
        let result = try runUnderDeadline(60) { try c.workload.run(context) }
        XCTAssertEqual(result.latency.count, 20)
        let report = ChildMain.placementReport(context)
        XCTAssertEqual(report.verified, true, "\(report)")
        XCTAssertFalse(report.threads.isEmpty)
        for t in report.threads {
            XCTAssertEqual(t.requested, [0])
            XCTAssertEqual(t.observedCPU, 0)
            XCTAssertTrue(t.verified)
        }
    }

    func testUnpinnedTimesliceRowHasNothingToVerify() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(
            #""matrix": {"runtime": ["timeslice"], "max_procs": [1], "preemption": ["async"]}"#,
            workload: #"{"kind": "wakeup", "interval": "500us"}"#,
            length: #""iterations": 10"#))
        let c = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        let context = WorkloadContext(configuration: c, progress: ProgressBeacon())
        _ = try runUnderDeadline(60) { try c.workload.run(context) }
        let report = ChildMain.placementReport(context)
        XCTAssertNil(report.verified)
        XCTAssertTrue(report.threads.isEmpty)
    }
}
