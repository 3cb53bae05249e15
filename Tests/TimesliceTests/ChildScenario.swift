// Runs one test of this bundle in a child process under a deadline, so that a scenario that can
// hang (a deadlock under async preemption) is reported as a hang instead of stopping the suite.
// The child is this test binary with one test selected and the scenario in an environment
// variable; the test on the child side exits with its verdict.
import Foundation
import Synchronization

enum ChildScenario {
    /// Runs `test` ("TimesliceTests.Class/testName") with `variable=value` in its environment.
    /// Returns the exit status (-1: killed at the deadline, -2: could not start) and the last
    /// `lines` lines of its output (a fatal error's message comes before its backtrace).
    static func run(test: String, variable: String, value: String, deadline: Double,
                    lines: Int = 6) -> (Int32, String) {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = [test]
        child.environment = ProcessInfo.processInfo.environment.merging([variable: value]) { $1 }
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        do { try child.run() } catch { return (-2, "could not start the child: \(error)") }
        // Drain the pipe meanwhile, so a chatty child never blocks on a full pipe.
        let collected = Mutex(Data())
        let reader = Thread {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            collected.withLock { $0 = data }
        }
        reader.start()
        let end = Date().addingTimeInterval(deadline)
        while child.isRunning && Date() < end { usleep(10_000) }
        var status: Int32
        if child.isRunning {
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            status = -1
        } else {
            status = child.terminationStatus
        }
        while !reader.isFinished { usleep(1_000) }
        let text = collected.withLock { String(decoding: $0, as: UTF8.self) }
        let tail = text.split(separator: "\n").suffix(lines).joined(separator: "\n")
        return (status, status == -1 ? "HANG (no exit within \(deadline) s)\n" + tail : tail)
    }
}
