// The baseline runtimes in real child processes of the built `timeslice` binary, through the
// same SweepRunner as `timeslice run`; every child runs under the sweep's watchdog, so a hang
// is a `timeout` row, never a stuck suite. No timing thresholds: only statuses, sample
// counts, and that each row says what ran.
//
// `go` and `cyclictest` rows are expected `ok` when the tool is on this machine and
// `unavailable` otherwise; with an empty PATH they must be `unavailable`, never `error`.
import Foundation
import XCTest
@testable import TimesliceLab

/// The real child launcher with a different environment (e.g. an empty PATH).
private struct EnvironmentLauncher: ChildLauncher {
    let base: SelfExecLauncher
    let edit: @Sendable (inout [String: String]) -> Void

    func command(for configuration: RunConfiguration) throws -> ChildCommand {
        var c = try base.command(for: configuration)
        edit(&c.environment)
        return c
    }
}

final class BaselineRuntimesTests: XCTestCase {
    private func sweep(_ json: String, launcher: ChildLauncher? = nil) throws -> SweepReport {
        let binary = try builtTimesliceBinary()
        let spec = try Fixtures.spec(json)
        return try SweepRunner(spec: spec, options: SweepOptions(), launcher: launcher ?? SelfExecLauncher(executable: binary),
                               environment: .capture(), outRoot: try Fixtures.temporaryDirectory()) { _ in }.run()
    }

    private var goInstalled: Bool { Variants.locate("go") != nil || ProcessInfo.processInfo.environment["TIMESLICE_GO_BASELINE"] != nil }
    private var cyclictestInstalled: Bool { Variants.locate("cyclictest") != nil }

    private func expectMeasured(_ c: ConfigResult, available: Bool, minimum: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        guard available else {
            XCTAssertEqual(c.status, .unavailable, "\(c.id): \(c.reason ?? "")", file: file, line: line)
            XCTAssertNil(c.latencyNs, file: file, line: line)
            return
        }
        XCTAssertEqual(c.status, .ok, "\(c.id): \(c.reason ?? "")", file: file, line: line)
        XCTAssertGreaterThanOrEqual(c.latencyNs?.count ?? 0, minimum, c.id, file: file, line: line)
        XCTAssertNotNil(c.files["hgrm"], c.id, file: file, line: line)
        XCTAssertNotNil(c.placement?.note, "\(c.id) says what ran", file: file, line: line)
    }

    func testWakeupUnderEveryBaselineRuntime() throws {
        let report = try sweep("""
            {"schema_version": 1, "name": "baselines-wakeup-test",
             "matrix": {"runtime": ["swift-concurrency", "go", "cyclictest"], "placement": ["none", {"explicit": [0]}]},
             "workload": {"kind": "wakeup", "interval": "1ms"}, "iterations": 50, "warmup": "20ms", "watchdog": 60}
            """)
        XCTAssertEqual(report.configs.count, 6)
        for c in report.configs {
            switch c.config.point.runtime {
            case .swiftConcurrency:
                expectMeasured(c, available: true, minimum: 50)
                XCTAssertGreaterThan(c.counters["swift_pool_width_observed"] ?? 0, 0, c.id)
            case .go:
                expectMeasured(c, available: goInstalled, minimum: 50)
                if goInstalled { XCTAssertNotNil(c.counters["go_gomaxprocs"], c.id) }
            case .cyclictest:
                expectMeasured(c, available: cyclictestInstalled, minimum: 50)
            default: XCTFail(c.id)
            }
        }
        // Pinned to CPU 0: Go reports the mask it got; Swift's threads were all kept inside it.
        let pinnedGo = report.configs.first { $0.config.point.runtime == .go && $0.config.point.placement != .none }
        if goInstalled { XCTAssertTrue(pinnedGo?.placement?.note?.contains("cpus_allowed 0") ?? false, "\(String(describing: pinnedGo?.placement))") }
        let pinnedSwift = report.configs.first { $0.config.point.runtime == .swiftConcurrency && $0.config.point.placement != .none }
        XCTAssertTrue(pinnedSwift?.placement?.note?.contains("within 0") ?? false, "\(String(describing: pinnedSwift?.placement))")
    }

    func testOtherWorkloadsUnderSwiftConcurrencyAndGo() throws {
        for workload in [#"{"kind": "pingpong"}"#, #"{"kind": "pingpong", "mechanism": "yield"}"#,
                         #"{"kind": "spawn_join", "batch": 8}"#, #"{"kind": "throughput", "tasks": 2, "work_unit": 1000}"#] {
            let report = try sweep("""
                {"schema_version": 1, "name": "baselines-workloads-test", "matrix": {"runtime": ["swift-concurrency", "go"]},
                 "workload": \(workload), "iterations": 200, "warmup": "10ms", "watchdog": 60}
                """)
            for c in report.configs {
                expectMeasured(c, available: c.config.point.runtime == .go ? goInstalled : true, minimum: 100)
            }
        }
    }

    /// A tight hog with async preemption off at one P: Go's probe never runs again. The row is
    /// `starved` (reported by the child's monitor from the Go probe's relayed progress).
    func testStarvedGoProbeIsStarved() throws {
        try XCTSkipUnless(goInstalled, "go not installed")
        let report = try sweep("""
            {"schema_version": 1, "name": "go-starved-test",
             "matrix": {"runtime": ["go"], "max_procs": [1], "preemption": ["cooperative"]},
             "workload": {"kind": "wakeup", "interval": "1ms", "hogs": 1, "hog_kind": "tight"},
             "duration": "2s", "warmup": "0s", "starvation_timeout": "500ms", "watchdog": 60}
            """)
        XCTAssertEqual(report.configs.map(\.status), [.starved], report.configs.map { $0.reason ?? "" }.joined())
    }

    func testEmptyPathMakesGoAndCyclictestUnavailable() throws {
        let binary = try builtTimesliceBinary()
        let launcher = EnvironmentLauncher(base: SelfExecLauncher(executable: binary)) { env in
            env["PATH"] = ""
            env["TIMESLICE_GO_NO_VENV"] = "1"  // the project's own Go in .venv-go would be found otherwise
            env.removeValue(forKey: "TIMESLICE_GO_BASELINE")
        }
        let report = try sweep("""
            {"schema_version": 1, "name": "baselines-absent-test", "matrix": {"runtime": ["go", "cyclictest", "swift-concurrency"]},
             "workload": {"kind": "wakeup", "interval": "1ms"}, "iterations": 20, "watchdog": 60}
            """, launcher: launcher)
        XCTAssertEqual(report.configs.map(\.status), [.unavailable, .unavailable, .ok], report.configs.map { $0.reason ?? "" }.joined(separator: "; "))
        XCTAssertEqual(report.configs[0].reason, "go not installed")
        XCTAssertEqual(report.configs[1].reason, "cyclictest not installed (Debian package rt-tests)")
        XCTAssertFalse(report.anyFailed)
    }
}
