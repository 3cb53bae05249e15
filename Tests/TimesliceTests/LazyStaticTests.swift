// Lazy statics (`static let`, globals) whose initializer blocks the goroutine: swift_once
// holds a lock owned by the OS thread for the whole initializer (CTimeslice/once_interpose.c
// explains it). 16 goroutines each read 8 such statics in a different order while their
// initializers sleep, yield, wait on a channel or burn CPU; in cooperative and async (50 µs)
// mode, at maxProcs 1 and 4. Before the runtime knew about swift_once every parking kind
// hung at maxProcs 1 (a 100 % CPU spin on FUTEX_LOCK_PI → EDEADLK) and at maxProcs 4 (the
// initializer finished on another thread: FUTEX_UNLOCK_PI → EPERM, spinning). Each scenario
// runs in a child process under a deadline, so a hang is reported, not waited on; the child
// checks every value read and that each initializer ran exactly once.
//
// Outside the suite:
//   TIMESLICE_ONCE_CHILD=<kind>:<mode>:<maxProcs> timeout 30 \
//     .build/debug/TimeslicePackageTests.xctest TimesliceTests.LazyStaticTests/testLazyStaticChild
import Foundation
import Glibc
@testable import Timeslice
import XCTest

final class LazyStaticTests: XCTestCase {
    static let childVariable = "TIMESLICE_ONCE_CHILD"
    static let modes: [(name: String, mode: PreemptionMode)] = [("cooperative", .cooperative), ("async", .async)]

    func testInitializerThatSleeps() { runScenario("sleep") }
    func testInitializerThatYields() { runScenario("yield") }
    func testInitializerThatWaitsOnAChannel() { runScenario("channel") }
    func testInitializerThatBurnsCPUUnderPreemption() { runScenario("spin") }
    func testNestedInitializersThatSleep() { runScenario("nested") }

    private func runScenario(_ kind: String, file: StaticString = #filePath, line: UInt = #line) {
        for (name, _) in Self.modes {
            for maxProcs in [1, 4] {
                let (status, output) = ChildScenario.run(
                    test: "TimesliceTests.LazyStaticTests/testLazyStaticChild", variable: Self.childVariable,
                    value: "\(kind):\(name):\(maxProcs)", deadline: 30)
                XCTAssertEqual(status, 0, "\(kind) \(name) maxProcs \(maxProcs): \(output)", file: file, line: line)
                XCTAssertTrue(output.contains("OK \(kind)"), "\(kind) \(name) maxProcs \(maxProcs): \(output)",
                              file: file, line: line)
            }
        }
    }

    /// Does something only in the child: runs the scenario named by the environment and
    /// exits 0 when every value and count held, 1 otherwise.
    func testLazyStaticChild() {
        guard let spec = ProcessInfo.processInfo.environment[Self.childVariable] else { return }
        let parts = spec.split(separator: ":").map(String.init)
        let mode = Self.modes.first { $0.name == parts[1] }!.mode
        let verdict = runLazyStaticScenario(parts[0], mode: mode, maxProcs: Int(parts[2])!)
        print(verdict.ok ? "OK \(spec): \(verdict.detail)" : "FAIL \(spec): \(verdict.detail)")
        fflush(stdout)
        exit(verdict.ok ? 0 : 1)
    }
}

// MARK: The statics

/// What every initializer does before returning its value; set once before the run.
nonisolated(unsafe) private var initializerKind = ""
/// How many times each initializer ran (must end at exactly 1 each).
nonisolated(unsafe) private var initializerRuns = [Int](repeating: 0, count: 8)

private func initialize(_ index: Int) -> Int {
    initializerRuns[index] += 1   // exclusive: swift_once runs one initializer at a time per static
    switch initializerKind {
    case "sleep":
        Timeslice.sleep(for: .milliseconds(2))
    case "yield":
        for _ in 0..<200 { Timeslice.yield() }
    case "channel":
        let handOff = Channel<Int>()
        go {
            Timeslice.yield()   // let the readers in first: they meet the initializer's lock
            handOff.send(index)
        }
        precondition(handOff.receive() == index)
    case "spin":
        let end = monotonicNanoseconds() + 3_000_000
        while monotonicNanoseconds() < end {}
    case "nested":
        Timeslice.sleep(for: .milliseconds(1))
        if index + 1 < 8 { precondition(readStatic(index + 1) == (index + 1) * 1000 + 7) }
        Timeslice.sleep(for: .milliseconds(1))
    default:
        fatalError("unknown initializer kind \(initializerKind)")
    }
    return index * 1000 + 7
}

private enum Static0 { static let value = initialize(0) }
private enum Static1 { static let value = initialize(1) }
private enum Static2 { static let value = initialize(2) }
private enum Static3 { static let value = initialize(3) }
private enum Static4 { static let value = initialize(4) }
private enum Static5 { static let value = initialize(5) }
private enum Static6 { static let value = initialize(6) }
private enum Static7 { static let value = initialize(7) }

private func readStatic(_ index: Int) -> Int {
    switch index {
    case 0: Static0.value
    case 1: Static1.value
    case 2: Static2.value
    case 3: Static3.value
    case 4: Static4.value
    case 5: Static5.value
    case 6: Static6.value
    default: Static7.value
    }
}

private func runLazyStaticScenario(_ kind: String, mode: PreemptionMode, maxProcs: Int) -> (ok: Bool, detail: String) {
    initializerKind = kind
    let readers = 16
    var configuration = RuntimeConfiguration(maxProcs: maxProcs, preemption: mode, timeSliceNanoseconds: 50_000)
    configuration.schedtraceMilliseconds = nil
    let wrong = Runtime.run(configuration) { () -> Int in
        let results = Channel<Int>(capacity: readers)
        for reader in 0..<readers {
            go {
                var wrongValues = 0
                for step in 0..<8 {
                    let index = (reader * 3 + step) % 8   // every reader starts somewhere else
                    if readStatic(index) != index * 1000 + 7 { wrongValues += 1 }
                }
                results.send(wrongValues)
            }
        }
        var wrong = 0
        for _ in 0..<readers { wrong += results.receive()! }
        return wrong
    }
    let runs = initializerRuns
    let counters = Runtime.counters
    // An initializer that parks must have been kept on its thread (a run that got lucky
    // without the wiring still fails here); one that only burns CPU never switches out.
    let wiringsExpected = kind != "spin"
    let ok = wrong == 0 && runs.allSatisfy { $0 == 1 } && (counters.onceWirings > 0) == wiringsExpected
    return (ok, "wrong values \(wrong), initializer runs \(runs), once wirings \(counters.onceWirings), "
                + "blocked-thread handoffs \(counters.handoffsBlockedThread)")
}
