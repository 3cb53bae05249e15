// Per-configuration scheduler output in the results folder (issue 7): `"schedtrace_ms": N` keeps
// the child's SCHED lines as <stem>.schedtrace.txt, and `run --trace` has the runtime of every
// timeslice configuration write <stem>.trace.json; both are listed in the configuration's
// `files`. Orchestration is tested with shell children, then once with the real binary.
import Foundation
import XCTest
@testable import TimesliceLab

final class TraceFilesTests: XCTestCase {
    private func runDirectory(_ root: String, _ experiment: String = "t") throws -> String {
        let stamps = try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(experiment)")
        XCTAssertEqual(stamps.count, 1)
        return "\(root)/\(experiment)/\(stamps[0])"
    }

    private func document(_ dir: String) throws -> ResultsDocument {
        try JSONDecoder().decode(ResultsDocument.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/results.json")))
    }

    func testSchedtraceLinesAreKeptInTheResultsFolder() throws {
        let root = try Fixtures.temporaryDirectory()
        let outcome = ChildOutcome(status: .ok, latency: Fixtures.knownRecorder())
        // The child's stderr mixes SCHED lines with other output; only the SCHED lines are kept.
        let launcher = ScriptLauncher { _ in
            (#"echo "SCHED 10ms: gomaxprocs=1 idleprocs=0" >&2; echo "noise" >&2; echo "SCHED 20ms: gomaxprocs=1 idleprocs=1" >&2; printf '%s\n' "$OUTCOME""#, outcome)
        }
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"preemption": ["async"]}, "schedtrace_ms": 10"#))
        let report = try SweepRunner(spec: spec, options: SweepOptions(), launcher: launcher, environment: .capture(),
                                     outRoot: root) { _ in }.run()
        let dir = try runDirectory(root)
        let config = try XCTUnwrap(try document(dir).configs.first)
        let stem = ResultsWriter.fileStem(id: config.id, repetition: 1, repetitions: 1)
        XCTAssertEqual(config.files["schedtrace"], "\(stem).schedtrace.txt")
        XCTAssertEqual(report.configs.first?.files["schedtrace"], "\(stem).schedtrace.txt")
        let text = try String(contentsOfFile: "\(dir)/\(stem).schedtrace.txt", encoding: .utf8)
        XCTAssertEqual(text, "SCHED 10ms: gomaxprocs=1 idleprocs=0\nSCHED 20ms: gomaxprocs=1 idleprocs=1\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }, [])
    }

    func testNoSchedtraceFileWithoutTheSetting() throws {
        let root = try Fixtures.temporaryDirectory()
        let outcome = ChildOutcome(status: .ok, latency: Fixtures.knownRecorder())
        let launcher = ScriptLauncher { _ in (#"echo "SCHED 10ms: x" >&2; printf '%s\n' "$OUTCOME""#, outcome) }
        let spec = try Fixtures.spec(Fixtures.minimal())
        _ = try SweepRunner(spec: spec, options: SweepOptions(), launcher: launcher, environment: .capture(),
                            outRoot: root) { _ in }.run()
        let config = try XCTUnwrap(try document(try runDirectory(root)).configs.first)
        XCTAssertNil(config.files["schedtrace"])
    }

    /// --trace asks only timeslice children for a trace, through a temporary name that becomes
    /// <stem>.trace.json once the child is gone; threads children are not asked.
    func testTraceIsRequestedForTimesliceConfigurationsAndListed() throws {
        let root = try Fixtures.temporaryDirectory()
        let outcome = ChildOutcome(status: .ok, latency: Fixtures.knownRecorder())
        let launcher = ScriptLauncher { _ in
            (#"if [ -n "$TIMESLICE_LAB_TRACE_FILE" ]; then printf '{"traceEvents": []}' > "$TIMESLICE_LAB_TRACE_FILE"; fi; printf '%s\n' "$OUTCOME""#, outcome)
        }
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["timeslice", "threads"]}"#))
        _ = try SweepRunner(spec: spec, options: SweepOptions(trace: true), launcher: launcher, environment: .capture(),
                            outRoot: root) { _ in }.run()
        let dir = try runDirectory(root)
        let doc = try document(dir)
        XCTAssertEqual(doc.options["trace"], "true")
        let ts = try XCTUnwrap(doc.configs.first { $0.config.point.runtime == .timeslice })
        let threads = try XCTUnwrap(doc.configs.first { $0.config.point.runtime == .threads })
        let name = try XCTUnwrap(ts.files["trace"])
        XCTAssertEqual(name, ResultsWriter.fileStem(id: ts.id, repetition: 1, repetitions: 1) + ".trace.json")
        XCTAssertEqual(try String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8), #"{"traceEvents": []}"#)
        XCTAssertNil(threads.files["trace"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".partial") }, [],
                       "temporary trace files left behind")
    }

    /// A child killed by the watchdog mid-write leaves no trace file and no listing.
    func testTraceOfAKilledChildIsNotListed() throws {
        let root = try Fixtures.temporaryDirectory()
        let launcher = ScriptLauncher { _ in
            (#"printf '{"traceEv' > "$TIMESLICE_LAB_TRACE_FILE"; exec /bin/sleep 100"#, nil)
        }
        let spec = try Fixtures.spec(Fixtures.minimal(#""watchdog": 2, "starvation_timeout": "1s""#))
        let report = try SweepRunner(spec: spec, options: SweepOptions(trace: true), launcher: launcher, environment: .capture(),
                                     outRoot: root) { _ in }.run()
        XCTAssertEqual(report.configs.map(\.status), [.timeout])
        XCTAssertNil(report.configs[0].files["trace"])
        let dir = try runDirectory(root)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("trace") }, [])
    }

    /// The real binary: SCHED lines of a timeslice child land in the schedtrace file, and with
    /// --trace its runtime writes a trace that loads as Chrome trace JSON and shows the tight
    /// hog being preempted (at 1 P the probe can only run if it is).
    func testRealTimesliceChildWritesSchedtraceAndTrace() throws {
        let binary = try builtTimesliceBinary()
        let root = try Fixtures.temporaryDirectory()
        let spec = try Fixtures.spec("""
            {"schema_version": 1, "name": "trace-e2e",
             "matrix": {"runtime": ["timeslice"], "max_procs": [1], "preemption": ["async"], "time_slice": ["1ms"]},
             "workload": {"kind": "wakeup", "interval": "1ms", "hogs": 1, "hog_kind": "tight"},
             "duration": "300ms", "warmup": "50ms", "watchdog": 30, "schedtrace_ms": 20}
            """)
        let report = try SweepRunner(spec: spec, options: SweepOptions(trace: true), launcher: SelfExecLauncher(executable: binary),
                                     environment: .capture(), outRoot: root) { _ in }.run()
        let config = try XCTUnwrap(report.configs.first)
        XCTAssertEqual(config.status, .ok, config.reason ?? "")
        let dir = try runDirectory(root, "trace-e2e")

        let sched = try String(contentsOfFile: "\(dir)/\(try XCTUnwrap(config.files["schedtrace"]))", encoding: .utf8)
        let lines = sched.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty)
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("SCHED ") }, sched)

        let traceName = try XCTUnwrap(config.files["trace"], "no trace listed: \(config.files)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(traceName)")))
        let events = try XCTUnwrap((json as? [String: Any])?["traceEvents"] as? [[String: Any]])
        XCTAssertTrue(events.contains { ($0["ph"] as? String) == "X" }, "no goroutine run slices")
        XCTAssertTrue(events.contains { ($0["name"] as? String)?.hasPrefix("preempt") == true }, "no preemption in the trace")
    }

    /// The real binary, a timeslice server configuration with --trace: beside the trace, the
    /// generator's request log, one line per answered measured request on the trace's clock
    /// (every completion after its intended send, and inside the trace's span after its origin).
    func testServerTraceComesWithTheGeneratorsRequestLogOnTheTracesClock() throws {
        let binary = try builtTimesliceBinary()
        let root = try Fixtures.temporaryDirectory()
        let spec = try Fixtures.spec("""
            {"schema_version": 1, "name": "requests-e2e",
             "matrix": {"runtime": ["timeslice"], "max_procs": [1], "preemption": ["async"], "time_slice": ["100us"], "rate": [2000]},
             "workload": {"kind": "server", "connections": 4},
             "duration": "300ms", "warmup": "50ms", "watchdog": 60}
            """)
        let report = try SweepRunner(spec: spec, options: SweepOptions(trace: true), launcher: SelfExecLauncher(executable: binary),
                                     environment: .capture(), outRoot: root) { _ in }.run()
        let config = try XCTUnwrap(report.configs.first)
        XCTAssertEqual(config.status, .ok, config.reason ?? "")
        let dir = try runDirectory(root, "requests-e2e")
        let traceName = try XCTUnwrap(config.files["trace"], "no trace listed: \(config.files)")
        let requestsName = try XCTUnwrap(config.files["requests"], "no request log listed: \(config.files)")
        XCTAssertEqual(requestsName, String(traceName.dropLast(".trace.json".count)) + ".requests.csv")

        let trace = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(traceName)"))) as? [String: Any])
        let origin = try XCTUnwrap((trace["otherData"] as? [String: Any])?["origin_monotonic_ns"] as? UInt64)
        let lines = try String(contentsOfFile: "\(dir)/\(requestsName)", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "# types: 0=short 1=long")
        XCTAssertEqual(lines.dropFirst().first, "intended_ns,sent_ns,completed_ns,type,connection")
        let rows = lines.dropFirst(2).map { $0.split(separator: ",").compactMap { UInt64($0) } }
        XCTAssertEqual(UInt64(rows.count), config.counters["requests"], "one line per answered measured request")
        for row in rows {
            XCTAssertEqual(row.count, 5)
            XCTAssertGreaterThanOrEqual(row[1], row[0], "sent at or after the intended time")
            XCTAssertGreaterThan(row[2], row[1], "completed after it was sent")
            XCTAssertGreaterThan(row[0], origin, "due after the runtime started")
            XCTAssertLessThan(row[4], 4, "one of the 4 connections")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".partial") }, [])
    }
}
