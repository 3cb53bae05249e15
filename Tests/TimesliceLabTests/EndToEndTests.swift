// A short real sweep: the `threads` wakeup probe in real child processes of the built
// `timeslice` binary, through the same SweepRunner as `timeslice run`. No timing thresholds:
// only that the probe ran, was measured, and every file is in place and consistent.
import Foundation
import XCTest
@testable import TimesliceLab

final class EndToEndTests: XCTestCase {
    func testThreadsWakeupSweepEndToEnd() throws {
        let binary = try builtTimesliceBinary()
        let root = try Fixtures.temporaryDirectory()
        let spec = try Fixtures.spec("""
            {"schema_version": 1, "name": "e2e", "matrix": {"runtime": ["threads", "go"], "placement": ["none", {"explicit": [0]}]},
             "workload": {"kind": "wakeup", "interval": "1ms", "hogs": 1}, "duration": "300ms", "warmup": "50ms", "watchdog": 30}
            """)
        var lines: [String] = []
        let report = try SweepRunner(spec: spec, options: SweepOptions(), launcher: SelfExecLauncher(executable: binary),
                                     environment: .capture(), outRoot: root) { lines.append($0) }.run()

        XCTAssertEqual(report.configs.map(\.id), ["rt=threads,place=none", "rt=threads,place=cpus0",
                                                  "rt=go,procs=default,preempt=async,place=none,lock=false",
                                                  "rt=go,procs=default,preempt=async,place=cpus0,lock=false"])
        for c in report.configs.prefix(2) {
            XCTAssertEqual(c.status, .ok, "\(c.id): \(c.reason ?? "")")
            let l = try XCTUnwrap(c.latencyNs, c.id)
            // 300 ms at 1 ms intervals: a few hundred samples unless the probe starved.
            XCTAssertGreaterThan(l.count, 10, c.id)
            XCTAssertLessThanOrEqual(try XCTUnwrap(l.p50), try XCTUnwrap(l.p99))
            XCTAssertLessThanOrEqual(try XCTUnwrap(l.p99), l.max)
            XCTAssertNotNil(c.files["hgrm"])
        }
        let pinned = report.configs[1].placement
        XCTAssertEqual(pinned?.verified, true, "\(String(describing: pinned))")
        XCTAssertEqual(pinned?.threads.map(\.observedCPU), [0, 0])
        // Go rows measure when a Go toolchain is installed, and otherwise say so
        // without a number.
        let goInstalled = Variants.executableInPath("go")
        for c in report.configs.suffix(2) {
            if goInstalled {
                XCTAssertEqual(c.status, .ok, "\(c.id): \(c.reason ?? "")")
                XCTAssertGreaterThan(try XCTUnwrap(c.latencyNs, c.id).count, 10, c.id)
            } else {
                XCTAssertEqual(c.status, .unavailable)
                XCTAssertEqual(c.reason, "go not installed")
                XCTAssertNil(c.latencyNs)
            }
        }
        XCTAssertFalse(report.anyFailed)
        XCTAssertEqual(lines.filter { $0.hasPrefix("[") }.count, 4, "one progress line per configuration")
        XCTAssertTrue(report.table.contains("rt=threads,place=cpus0"))
    }

    func testWakeupProbeInProcess() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["threads"]}"#,
                                                      workload: #"{"kind": "wakeup", "interval": "500us", "hogs": 1, "hog_kind": "syscall"}"#,
                                                      length: #""iterations": 50"#))
        let config = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
        let context = WorkloadContext(configuration: config, progress: ProgressBeacon())
        let result = try config.workload.run(context)
        XCTAssertEqual(result.latency.count, 50, "the budget counts intended deadlines, missed periods included")
        let s = try XCTUnwrap(result.sampling)
        XCTAssertEqual(s.wakeups + s.missedPeriods, 50)
        XCTAssertEqual(context.progress.count, s.wakeups + s.warmupWakeups, "one beat per wake-up")
        XCTAssertGreaterThan(result.counters["hog_rounds"] ?? 0, 0)
    }

    func testPingPongAndThroughputThreadsVariantsRecordSamples() throws {
        for workload in [#"{"kind": "pingpong", "mechanism": "futex"}"#, #"{"kind": "pingpong", "mechanism": "condvar"}"#,
                         #"{"kind": "throughput", "tasks": 2, "work_unit": 1000}"#, #"{"kind": "spawn_join", "batch": 4}"#] {
            let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["threads"]}"#, workload: workload,
                                                          length: #""iterations": 200"#))
            let config = RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
            let result = try config.workload.run(WorkloadContext(configuration: config, progress: ProgressBeacon()))
            XCTAssertGreaterThanOrEqual(result.latency.count, 100, workload)
        }
    }
}
