// No orphan ever remains: the real `timeslice run` on a 30 s configuration, stopped by SIGINT,
// SIGTERM, two SIGINTs or SIGKILL once its `_child` (and, for Go, the grandchild) is running.
// Afterwards, within 2 s, no process of the child's tree or process group may be alive (zombies
// waiting for init count as dead), and for the catchable signals results.json must exist with
// "interrupted": true, the exit status must be 128 + signal and stderr must say what was saved.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import TimesliceLab

final class RunnerLifecycleTests: XCTestCase {
    func testSIGINTKillsTheChildAndSavesAnInterruptedResults() throws {
        try interrupt(with: [SIGINT], expectedStatus: 130)
    }

    func testSIGTERMKillsTheChildAndSavesAnInterruptedResults() throws {
        try interrupt(with: [SIGTERM], expectedStatus: 143)
    }

    func testSecondSIGINTExitsAtOnce() throws {
        try interrupt(with: [SIGINT, SIGINT], expectedStatus: 130, checkResults: false)
    }

    /// Only PR_SET_PDEATHSIG can clean up after a runner that cannot run any code.
    func testSIGKILLOfTheRunnerKillsChildAndGrandchild() throws {
        // With a Go toolchain the configuration runs the Go reference program: a grandchild.
        let go = Variants.executableInPath("go")
        try interrupt(with: [SIGKILL], expectedStatus: nil, checkResults: false, runtime: go ? "go" : "threads",
                      waitForGrandchild: go)
    }

    /// Configurations that finished before the signal are kept; the one it killed is not.
    func testSIGINTKeepsTheConfigurationsFinishedSoFar() throws {
        // The cyclictest row of a pingpong is `unavailable` at once; the threads row runs 30 s.
        let spec = #"{"schema_version": 1, "name": "long", "matrix": {"runtime": ["cyclictest", "threads"]}, "workload": {"kind": "pingpong"}, "duration": "30s"}"#
        try interrupt(with: [SIGINT], expectedStatus: 130, spec: spec, childMarker: #""threads""#, saved: 1, planned: 2)
    }

    // MARK: Harness

    private func interrupt(with signals: [Int32], expectedStatus: Int32?, checkResults: Bool = true,
                           runtime: String = "threads", waitForGrandchild: Bool = false,
                           spec specJSON: String? = nil, childMarker: String = "_child", saved: Int = 0, planned: Int = 1,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let binary = try builtTimesliceBinary()
        let dir = try Fixtures.temporaryDirectory()
        let spec = "\(dir)/long.json"
        try (specJSON ?? """
            {"schema_version": 1, "name": "long", "matrix": {"runtime": ["\(runtime)"]},
             "workload": {"kind": "wakeup", "interval": "1ms", "hogs": 1, "hog_kind": "tight"}, "duration": "30s"}
            """).write(toFile: spec, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: "\(dir)/stderr", contents: nil)
        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: binary)
        runner.arguments = ["run", spec, "--out", "\(dir)/out"]
        runner.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        runner.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/stderr"))
        try runner.run()
        let runnerPID = runner.processIdentifier
        defer { if runner.isRunning { kill(runnerPID, SIGKILL); runner.waitUntilExit() } }

        // The child: a `_child` whose parent is the runner.
        guard let child = waitFor(seconds: 30, {
            Proc.all().first { $0.ppid == runnerPID && $0.cmdline.contains("_child") && $0.cmdline.contains(childMarker) }
        }) else {
            return XCTFail("the runner did not start its _child within 30 s", file: file, line: line)
        }
        if waitForGrandchild {
            guard waitFor(seconds: 60, { Proc.all().first { $0.ppid == child.pid } }) != nil else {
                return XCTFail("the child did not start the Go program within 60 s", file: file, line: line)
            }
        }
        let tree = Proc.descendants(of: child.pid) + [child]
        let groups = Set(tree.map(\.pgid))

        for s in signals { kill(runnerPID, s) }
        let exited = waitFor(seconds: 10) { runner.isRunning ? nil : true } ?? false
        XCTAssertTrue(exited, "the runner did not exit within 10 s of \(signals)", file: file, line: line)
        if let expectedStatus, exited {
            XCTAssertEqual(runner.terminationReason, .exit, file: file, line: line)
            XCTAssertEqual(runner.terminationStatus, expectedStatus, file: file, line: line)
        }

        // Within 2 s no process of the child's tree or process groups is alive.
        let survivors = waitFor(seconds: 2) { () -> Bool? in
            let alive = Proc.all().filter { p in tree.contains { $0.pid == p.pid } || groups.contains(p.pgid) }
            return alive.isEmpty ? true : nil
        }
        if survivors == nil {
            let alive = Proc.all().filter { p in tree.contains { $0.pid == p.pid } || groups.contains(p.pgid) }
            for p in alive { kill(p.pid, SIGKILL) }
            XCTFail("orphans after \(signals): \(alive.map { "\($0.pid) \($0.cmdline.prefix(80))" })", file: file, line: line)
        }

        guard checkResults else { return }
        let stderr = (try? String(contentsOfFile: "\(dir)/stderr", encoding: .utf8)) ?? ""
        XCTAssertTrue(stderr.contains("interrupted: \(saved)/\(planned) configurations saved in \(dir)/out/long/"), stderr, file: file, line: line)
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/out/long")) ?? []
        XCTAssertEqual(runs.count, 1, file: file, line: line)
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/out/long/\(runs.first ?? "")/results.json"))
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(doc["interrupted"] as? Bool, true, file: file, line: line)
        XCTAssertEqual((doc["configs"] as? [Any])?.count, saved, "the killed configuration is not recorded", file: file, line: line)
        XCTAssertEqual(doc["planned"] as? Int, planned, file: file, line: line)
        XCTAssertNotNil(doc["finished_at"] as? String, file: file, line: line)
    }

    private func waitFor<T>(seconds: Double, _ probe: () -> T?) -> T? {
        let end = Date(timeIntervalSinceNow: seconds)
        repeat {
            if let v = probe() { return v }
            usleep(20_000)
        } while Date() < end
        return probe()
    }
}
