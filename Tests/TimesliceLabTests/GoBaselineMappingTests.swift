// The `go` runtime without running Go: the Go program's JSON and samples file (canned, as
// printed by baselines/go) mapped into the lab's result schema, and the command line built for
// a configuration.
import Foundation
import XCTest
@testable import TimesliceLab

final class GoBaselineMappingTests: XCTestCase {
    /// Shortened from a real `GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 taskset -c 1 ... wakeup`.
    static let cannedJSON = """
        {
          "workload": "wakeup", "status": "ok", "go_version": "go1.19.8", "gomaxprocs": 1,
          "godebug": "asyncpreemptoff=1", "async_preemption": false, "cpus_allowed": [1], "num_cpu": 1,
          "params": {"duration": "1000000000ns", "hog_kind": "tight", "hogs": "0", "interval": "1000000ns"},
          "latency_meaning": "wake-up lateness (actual - intended)",
          "latency_ns": {"count": 6, "mean": 335000.5, "stddev": 1, "min": 0, "p50": 120345, "p90": 1000000,
                         "p99": 1000000, "p999": 1000000, "p9999": 1000000, "max": 1000000,
                         "jitter_max_min": 1000000, "jitter_p99_p50": 879655},
          "values": {"hog_rounds": 0, "missed_periods": 3, "samples_warmup_discarded": 11, "ns_per_handoff": 151.6},
          "warnings": ["hogs >= GOMAXPROCS with async preemption off: the probe can only run when a hog stops"]
        }
        """
    static let cannedSamples = "0 1\n120345 2\n450000 1\n1000000 2\n"

    func testOkOutputBecomesHistogramCountersAndNote() throws {
        guard case .measured(let result, let note) = try GoResult.map(stdout: Data(Self.cannedJSON.utf8), samples: Self.cannedSamples) else {
            return XCTFail("expected a measurement")
        }
        XCTAssertEqual(result.latency.count, 6)
        let summary = PercentileSummary(result.latency.histogram)
        XCTAssertEqual(summary.min, 0)
        // The lab's histogram keeps 3 significant digits: within 0.1 % of the exact values.
        XCTAssertEqual(Double(try XCTUnwrap(summary.p50)), 120_345, accuracy: 121)
        XCTAssertEqual(Double(summary.max), 1_000_000, accuracy: 1_000)
        XCTAssertEqual(result.counters["missed_periods"], 3)
        XCTAssertEqual(result.counters["samples_warmup_discarded"], 11)
        XCTAssertEqual(result.counters["ns_per_handoff"], 152, "fractional values are rounded")
        XCTAssertEqual(result.counters["go_gomaxprocs"], 1)
        XCTAssertEqual(result.counters["go_async_preemption"], 0)
        XCTAssertTrue(note.contains("go1.19.8, GOMAXPROCS=1"), note)
        XCTAssertTrue(note.contains("async preemption off (GODEBUG=asyncpreemptoff=1)"), note)
        XCTAssertTrue(note.contains("cpus_allowed 1"), note)
        XCTAssertTrue(note.contains("go warning: hogs >= GOMAXPROCS"), note)
    }

    func testStarvedOutputIsStarvedNotANumber() throws {
        let json = #"{"workload": "wakeup", "status": "starved", "reason": "probe never ran within 3s", "go_version": "go1.19.8", "gomaxprocs": 1, "godebug": "asyncpreemptoff=1", "async_preemption": false, "cpus_allowed": [0, 1], "num_cpu": 2, "params": {}, "latency_meaning": "wake-up lateness (actual - intended)", "latency_ns": null, "values": {"hog_rounds": 5}, "warnings": []}"#
        guard case .starved(let reason, _, nil) = try GoResult.map(stdout: Data(json.utf8), samples: "") else {
            return XCTFail("expected starved")
        }
        XCTAssertEqual(reason, "probe never ran within 3s")
    }

    func testSamplesThatDisagreeWithTheJSONAreAnError() {
        XCTAssertThrowsError(try GoResult.map(stdout: Data(Self.cannedJSON.utf8), samples: "5 1\n"))
        XCTAssertThrowsError(try GoResult.map(stdout: Data(Self.cannedJSON.utf8), samples: "5 x\n"))
        XCTAssertThrowsError(try GoResult.map(stdout: Data("go: not json".utf8), samples: nil))
    }

    func testSamplesBeyondSixtySecondsAreClampedAndCounted() throws {
        let rec = try GoResult.recorder("1 1\n61000000000 2\n")
        XCTAssertEqual(rec.count, 3)
        XCTAssertEqual(rec.clamped, 2)
    }

    private func configuration(_ matrix: String, workload: String, length: String = #""duration": "2s""#) throws -> RunConfiguration {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": \#(matrix), "warmup": "100ms""#, workload: workload, length: length))
        return RunConfiguration(spec: spec, point: MatrixExpansion.expand(spec)[0], repetition: 1)
    }

    func testInvocationCarriesParametersAndGoKnobs() throws {
        let c = try configuration(#"{"runtime": ["go"], "max_procs": [1], "preemption": ["cooperative"], "lock_os_thread": [true]}"#,
                                  workload: #"{"kind": "wakeup", "interval": "250us", "hogs": 2, "hog_kind": "alloc"}"#)
        let inv = try GoInvocation.make(c)
        XCTAssertEqual(inv.workload, "wakeup")
        XCTAssertEqual(inv.arguments, ["-interval", "250000ns", "-hogs", "2", "-hog_kind", "alloc", "-starvation_timeout", "3000000000ns",
                                       "-warmup", "100000000ns", "-duration", "2000000000ns", "-lock_os_thread"])
        XCTAssertEqual(inv.environment, ["GOMAXPROCS": "1", "GODEBUG": "asyncpreemptoff=1"])
        XCTAssertEqual(inv.workers, 3)
        let env = inv.processEnvironment(from: ["PATH": "/usr/bin", "GODEBUG": "gctrace=1"])
        XCTAssertEqual(env, ["PATH": "/usr/bin", "GOMAXPROCS": "1", "GODEBUG": "asyncpreemptoff=1"])

        let asyncDefault = try GoInvocation.make(try configuration(#"{"runtime": ["go"]}"#, workload: #"{"kind": "spawn_join", "batch": 8}"#,
                                                                   length: #""iterations": 50"#))
        XCTAssertEqual(asyncDefault.workload, "spawn-join")
        XCTAssertEqual(asyncDefault.arguments, ["-batch", "8", "-warmup", "100000000ns", "-iterations", "50"])
        XCTAssertEqual(asyncDefault.environment, [:], "default GOMAXPROCS and async preemption leave Go's defaults")
        XCTAssertEqual(inv.processEnvironment(from: ["GOMAXPROCS": "7"])["GOMAXPROCS"], "1")
        XCTAssertNil(asyncDefault.processEnvironment(from: ["GOMAXPROCS": "7"])["GOMAXPROCS"], "an inherited GOMAXPROCS is removed")

        XCTAssertEqual(try GoInvocation.make(try configuration(#"{"runtime": ["go"]}"#, workload: #"{"kind": "pingpong", "mechanism": "yield"}"#)).workload, "yield")
        XCTAssertEqual(try GoInvocation.make(try configuration(#"{"runtime": ["go"]}"#, workload: #"{"kind": "pingpong"}"#)).workload, "pingpong-chan")
        XCTAssertEqual(try GoInvocation.make(try configuration(#"{"runtime": ["go"]}"#, workload: #"{"kind": "throughput", "tasks": 3, "work_unit": 1000}"#)).arguments.prefix(4),
                       ["-work_unit", "1000", "-tasks", "3"])
    }

    func testCombinationsGoCannotRunAreUnavailable() throws {
        let cases = [(#"{"runtime": ["go"], "preemption": ["polling"]}"#, #"{"kind": "wakeup"}"#, "polling"),
                     (#"{"runtime": ["go"]}"#, #"{"kind": "pingpong", "mechanism": "futex"}"#, "thread mechanism"),
                     (#"{"runtime": ["go"]}"#, #"{"kind": "work_stealing"}"#, "work_stealing")]
        for (matrix, workload, words) in cases {
            XCTAssertThrowsError(try GoInvocation.make(try configuration(matrix, workload: workload)), workload) { error in
                let reason = (error as? WorkloadUnavailable)?.reason ?? "not unavailable: \(error)"
                XCTAssertTrue(reason.contains(words), reason)
            }
        }
    }
}
