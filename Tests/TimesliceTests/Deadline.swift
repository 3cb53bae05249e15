// A hung runtime must fail the suite with a message, not eat CI's time: every
// test that runs goroutines does it under a watchdog that kills the process.
import Foundation
import Glibc
@testable import Timeslice
import XCTest

/// Runs `body` inside Runtime.run under a watchdog: if it has not returned after
/// `seconds`, prints which test hung and exits the process with status 3.
func runWithDeadline<T>(_ seconds: Double = 60, maxProcs: Int? = nil,
                        preemption: PreemptionMode = .cooperative,
                        timeSliceNanoseconds: UInt64 = 10_000_000,
                        netpollSpinNanoseconds: UInt64? = nil,
                        file: StaticString = #filePath, line: UInt = #line,
                        _ body: @escaping () -> T) -> T {
    var configuration = RuntimeConfiguration(maxProcs: maxProcs, preemption: preemption,
                                             timeSliceNanoseconds: timeSliceNanoseconds,
                                             netpollSpinNanoseconds: netpollSpinNanoseconds)
    configuration.schedtraceMilliseconds = nil
    let watchdog = Watchdog(seconds: seconds, what: "\(file):\(line)")
    defer { watchdog.cancel() }
    return Runtime.run(configuration, body)
}

final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    init(seconds: Double, what: String) {
        let thread = Thread { [self] in
            Thread.sleep(forTimeInterval: seconds)
            lock.lock()
            let fire = !cancelled
            lock.unlock()
            if fire {
                fputs("DEADLINE: runtime test at \(what) did not finish within \(seconds) s (hang)\n", stderr)
                _exit(3)
            }
        }
        thread.start()
    }

    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }
}

/// For a count the OS scheduler can disturb (a thread descheduled for 10 ms on a loaded
/// machine lets sysmon's stale poll win a race it loses on an idle one): runs `attempt`
/// up to `attempts` times and stops at the first result that `passes`. Returns every
/// result, so a failing assertion shows them all. A real regression fails every
/// attempt; a load spike fails one. Never for a property that should hold every time.
func attemptsUntil<T>(_ passes: (T) -> Bool, attempts: Int = 3, _ attempt: () -> T) -> [T] {
    var results: [T] = []
    for _ in 0..<attempts {
        let result = attempt()
        results.append(result)
        if passes(result) { break }
    }
    return results
}
