// A workload that hangs must fail the suite with a message, not eat CI's time: tests that run
// the Timeslice runtime in-process do it under a watchdog thread that ends the process.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body`; if it has not returned after `seconds`, prints which test hung and exits the
/// process with status 3.
func runUnderDeadline<T>(_ seconds: Double, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) rethrows -> T {
    let state = DeadlineState()
    let what = "\(file):\(line)"
    let watchdog = Thread {
        if !state.waitForFinish(until: Date(timeIntervalSinceNow: seconds)) {
            fputs("DEADLINE: workload test at \(what) did not finish within \(seconds) s (hang)\n", stderr)
            _exit(3)
        }
    }
    watchdog.start()
    defer { state.finish() }
    return try body()
}

private final class DeadlineState: @unchecked Sendable {
    // @unchecked: `finished` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var finished = false

    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// True when finish() came before `deadline`.
    func waitForFinish(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !finished && condition.wait(until: deadline) {}
        return finished
    }
}
