// Bad experiment files must be rejected before anything runs, with the JSON path and the
// allowed values in the message. Each row: a file and the exact message a user would see.
import XCTest
@testable import TimesliceLab

final class SpecValidationTests: XCTestCase {
    func testBadFilesAreRejectedWithPathAndAllowedValues() {
        let cases: [(String, String, UInt)] = [
            (Fixtures.minimal(#""matrix": {"preemption": ["async", "asynch"]}"#),
             #"t.json: matrix.preemption[1]: "asynch" is not one of cooperative, polling, async"#, #line),
            (Fixtures.minimal(#""matrix": {"runtime": ["timeslice", "java"]}"#),
             #"t.json: matrix.runtime[1]: "java" is not one of timeslice, threads, swift-concurrency, swift-nio, go, cyclictest"#, #line),
            (Fixtures.minimal(#""repetiton": 3"#),
             "t.json: repetiton: unknown key \"repetiton\"; allowed keys here: description, duration, exclude, include, iterations, matrix, name, repetitions, schedtrace_ms, schema_version, seed, starvation_timeout, warmup, watchdog, workload", #line),
            (Fixtures.minimal(#""matrix": {"time_slice": ["10us"]}"#),
             #"t.json: matrix.time_slice[0]: "10us" is below the minimum 50us"#, #line),
            (Fixtures.minimal(#""matrix": {"max_procs": [0]}"#),
             "t.json: matrix.max_procs[0]: 0 is below the minimum 1", #line),
            (Fixtures.minimal(#""matrix": {"max_procs": ["2"]}"#),
             #"t.json: matrix.max_procs[0]: expected an integer >= 1 or "default", found a string "2""#, #line),
            (Fixtures.minimal(length: #""duration": "-5s""#),
             #"t.json: duration: "-5s" is negative; durations must be positive"#, #line),
            (Fixtures.minimal(length: #""duration": 5"#),
             #"t.json: duration: expected a duration string such as "10ms" (units ns, us, ms, s, m), found a number 5"#, #line),
            (Fixtures.minimal(length: #""duration": "5 parsecs""#),
             #"t.json: duration: "5 parsecs" is not a duration; write a number and a unit (ns, us, ms, s, m), e.g. "10ms""#, #line),
            (Fixtures.minimal(workload: #"{"kind": "fork_bomb"}"#),
             #"t.json: workload.kind: "fork_bomb" is not one of wakeup, pingpong, throughput, spawn_join, open_loop, work_stealing, server"#, #line),
            (Fixtures.minimal(workload: #"{"kind": "wakeup", "hogz": 2}"#),
             #"t.json: workload.hogz: unknown key "hogz"; parameters of workload "wakeup": hog_kind, hogs, interval, kind"#, #line),
            (Fixtures.minimal(workload: #"{"kind": "wakeup", "hog_kind": "spin"}"#),
             #"t.json: workload.hog_kind: "spin" is not one of tight, polling, alloc, syscall"#, #line),
            (Fixtures.minimal(workload: #"{"kind": "wakeup", "hogs": true}"#),
             "t.json: workload.hogs: expected an integer, found a boolean true", #line),
            (Fixtures.minimal(#""matrix": {"placement": ["packed"]}"#),
             #"t.json: matrix.placement[0]: "packed" is not one of none, compact, scatter, isolated, {"explicit":[cpus]}, {"numa":node}"#, #line),
            (Fixtures.minimal(#""matrix": {"placement": [{"explicit": [0, 0]}]}"#),
             "t.json: matrix.placement[0].explicit: lists a CPU twice", #line),
            (Fixtures.minimal(#""matrix": {"preemption": []}"#),
             "t.json: matrix.preemption: the list is empty; give at least one value", #line),
            (Fixtures.minimal(#""exclude": [{"preemption": "async"}]"#),
             "t.json: exclude: excludes every point of the matrix; nothing would run", #line),
            (Fixtures.minimal(#""include": [{"runtime": "threads", "color": "red"}]"#),
             #"t.json: include[0].color: unknown key "color"; allowed keys here: hogs, lock_os_thread, max_procs, numa_node, placement, preemption, rate, runtime, sysmon, time_slice"#, #line),
            (Fixtures.minimal(#""matrix": {"numa_node": [0], "placement": ["compact"]}"#),
             #"t.json: matrix: point rt=timeslice,procs=default,preempt=async,slice=10ms,place=compact,lock=false,numa=0 sets both numa_node and placement compact; use "exclude" to drop such pairs"#, #line),
            (Fixtures.minimal(length: #""duration": "1s", "iterations": 10"#),
             #"t.json: give "duration" or "iterations", not both"#, #line),
            (Fixtures.minimal(length: #""warmup": "1s""#),
             #"t.json: give either "duration" (e.g. "5s") or "iterations""#, #line),
            (#"{"schema_version": 2, "name": "t", "workload": {"kind": "wakeup"}, "duration": "1s"}"#,
             "t.json: schema_version: 2 is not supported; this runner reads schema_version 1", #line),
            (#"{"schema_version": 1, "name": "a b", "workload": {"kind": "wakeup"}, "duration": "1s"}"#,
             #"t.json: name: "a b" must be non-empty letters, digits, - or _"#, #line),
            (Fixtures.minimal(#""watchdog": 2, "starvation_timeout": "3s""#),
             "t.json: watchdog: 2.0 s is not longer than starvation_timeout 3s; starvation could never be told from a hang", #line),
            (Fixtures.minimal(#""matrix": "all""#),
             "t.json: matrix: expected an object, found a string", #line),
        ]
        for (json, expected, line) in cases {
            XCTAssertThrowsError(try Fixtures.spec(json), line: line) { error in
                XCTAssertEqual("\(error)", expected, line: line)
            }
        }
    }

    func testSyntaxErrorNamesTheFile() {
        XCTAssertThrowsError(try Fixtures.spec(#"{"schema_version": 1,"#)) { error in
            XCTAssertTrue("\(error)".hasPrefix("t.json: not valid JSON"), "\(error)")
        }
    }

    func testValidSpecDecodesWithDefaults() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"time_slice": ["50us", "1.5ms"]}"#))
        XCTAssertEqual(spec.matrix.timeSliceNanoseconds, [50_000, 1_500_000])
        XCTAssertEqual(spec.length, .duration(nanoseconds: 1_000_000_000))
        XCTAssertEqual(spec.starvationTimeoutNanoseconds, 3_000_000_000)
        XCTAssertEqual(spec.repetitions, 1)
        guard let p = spec.workload.parameters(as: WakeupParameters.self) else { return XCTFail("not wakeup") }
        XCTAssertEqual(p.intervalNanoseconds, 1_000_000)
    }

    func testShippedExperimentsAreValid() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("experiments").path
        let entries = ExperimentCatalog.entries(in: dir)
        XCTAssertGreaterThanOrEqual(entries.count, 8, "experiments/ should ship the eight experiments of issue 6")
        for e in entries {
            XCTAssertNil(e.problem, e.file)
            XCTAssertFalse(e.description.isEmpty, "\(e.file) needs a description for `timeslice list`")
        }
    }

    func testWorkloadAndPointRoundTripThroughTheFileFormat() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["timeslice", "threads"], "placement": [{"explicit": [1]}]}"#,
                                                      workload: #"{"kind": "wakeup", "interval": "250us", "hogs": 2, "hog_kind": "alloc"}"#))
        for point in MatrixExpansion.expand(spec) {
            let config = RunConfiguration(spec: spec, point: point, repetition: 1)
            let decoded = try JSONDecoder().decode(RunConfiguration.self, from: JSONEncoder().encode(config))
            XCTAssertEqual(decoded, config)
        }
    }
}
