// Helpers shared by the lab tests: specs from inline JSON, and launchers that stand in for
// the `timeslice _child` binary so that orchestration is tested without the CLI.
import Foundation
import XCTest
@testable import TimesliceLab

enum Fixtures {
    static func spec(_ json: String, file: String = "t.json") throws -> ExperimentSpec {
        try SpecDecoder.decode(data: Data(json.utf8), file: file)
    }

    /// A minimal valid spec; `extra` is spliced into the top-level object.
    static func minimal(_ extra: String = "", workload: String = #"{"kind":"wakeup"}"#, length: String = #""duration":"1s""#) -> String {
        """
        {"schema_version": 1, "name": "t", "workload": \(workload), \(length)\(extra.isEmpty ? "" : ", " + extra)}
        """
    }

    /// A new empty directory under this test process's own root, which is removed
    /// when the process exits (so a full run leaves nothing in /tmp; a crashed one
    /// leaves its root, named by its pid).
    static func temporaryDirectory() throws -> String {
        _ = removeRootAtExit
        let dir = processRoot() + "/" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    private static func processRoot() -> String {
        NSTemporaryDirectory() + "timeslice-lab-tests-\(getpid())"
    }

    private static let removeRootAtExit: Void = {
        atexit { try? FileManager.default.removeItem(atPath: Fixtures.processRoot()) }
    }()

    /// A recorder with a known spread of values (1..1000 µs), so percentiles are distinct.
    static func knownRecorder() -> LatencyRecorder {
        var r = LatencyRecorder()
        for i in 1...10_000 { r.record(UInt64(i) * 100) }
        r.record(5_000_000)  // one outlier so max differs from p99.99
        return r
    }
}

/// Runs a shell snippet per configuration; `$OUTCOME` holds a canned outcome line.
struct ScriptLauncher: ChildLauncher {
    let script: @Sendable (RunConfiguration) -> (String, ChildOutcome?)

    func command(for configuration: RunConfiguration) throws -> ChildCommand {
        let (text, outcome) = script(configuration)
        var env = ["PATH": "/usr/bin:/bin"]
        if let outcome { env["OUTCOME"] = outcome.line().trimmingCharacters(in: .newlines) }
        return ChildCommand(executable: "/bin/sh", arguments: ["-c", text], environment: env)
    }
}

/// The `timeslice` executable built beside this test bundle (`swift build --build-tests` and
/// `swift test` build every product into the same directory).
func builtTimesliceBinary(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    var dir = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    for _ in 0..<4 {
        dir = dir.deletingLastPathComponent()
        let candidate = dir.appendingPathComponent("timeslice").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    XCTFail("the timeslice executable was not built next to the tests (run `swift build --build-tests` first)", file: file, line: line)
    throw XCTSkip("no timeslice binary")
}

/// Runs the built `timeslice` with `args` as a child under a deadline (a hang fails the test
/// instead of stalling it): exit code, stdout, stderr; -1 when it did not exit.
func timesliceCLI(_ args: [String], deadlineSeconds: UInt64, file: StaticString = #filePath, line: UInt = #line) throws -> (Int32, String, String) {
    let r = try ChildProcess.run(executable: try builtTimesliceBinary(file: file, line: line), arguments: args,
                                 deadlineNanoseconds: deadlineSeconds * 1_000_000_000)
    guard case .exited(let code) = r.termination else {
        XCTFail("timeslice \(args.joined(separator: " ")): \(r.timedOut ? "killed after \(deadlineSeconds) s" : "\(r.termination)")", file: file, line: line)
        return (-1, "", "")
    }
    return (code, String(decoding: r.stdout, as: UTF8.self), String(decoding: r.stderr, as: UTF8.self))
}
