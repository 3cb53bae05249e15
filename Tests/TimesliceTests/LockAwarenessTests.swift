// Thread-owned locks under asynchronous preemption (lock awareness, Go's m.locks;
// CTimeslice/lock_interpose.c). 8 goroutines each run N critical sections of about
// 4 µs at a 50 µs slice in async mode, at maxProcs 1 and 4, under each kind of lock a
// Swift program meets on Linux. Each scenario runs in a child process (this test
// binary, re-executed) under a deadline, so a hang is reported, not waited on. The
// child checks mutual exclusion twice: a non-atomic counter read before and written
// after the 4 µs (a lost update shows as a short count) and an "inside" flag (an
// overlap is seen directly); every lock call's return code is checked.
//
// Outside the suite, fill the scenario table with
//   TIMESLICE_LOCK_CHILD=<scenario>:<maxProcs> timeout 30 \
//     .build/debug/TimeslicePackageTests.xctest TimesliceTests.LockAwarenessTests/testLockScenarioChild
// (exit 0 = passed; the last line of stdout is the child's verdict).
import CTimeslice
import Foundation
import Glibc
import Synchronization
@testable import Timeslice
import XCTest

final class LockAwarenessTests: XCTestCase {
    static let childVariable = "TIMESLICE_LOCK_CHILD"
    static let scenarios = ["mutex", "errorcheck", "recursive", "nslock", "nsrecursivelock",
                            "rwlock", "spinlock", "nscondition", "syncmutex-nopreempt"]
    /// Goroutines and critical sections per goroutine.
    static let goroutines = 8
    static let sections = 3000
    /// Runs per scenario and maxProcs inside the suite (the 20-run table is made outside).
    static let suiteRuns = 2

    // MARK: Parent side

    func testPthreadDefaultMutex() { runScenario("mutex") }
    func testPthreadErrorcheckMutex() { runScenario("errorcheck") }
    func testPthreadRecursiveMutex() { runScenario("recursive") }
    func testNSLock() { runScenario("nslock") }
    func testNSRecursiveLock() { runScenario("nsrecursivelock") }
    func testPthreadRwlockWrite() { runScenario("rwlock") }
    func testPthreadSpinlock() { runScenario("spinlock") }
    func testNSConditionWaitKeepsTheLockCounted() { runScenario("nscondition") }
    func testSynchronizationMutexInsideWithNoPreemption() { runScenario("syncmutex-nopreempt") }

    private func runScenario(_ scenario: String, file: StaticString = #filePath, line: UInt = #line) {
        for maxProcs in [1, 4] {
            for run in 0..<Self.suiteRuns {
                let (status, output) = Self.runChild(scenario: scenario, maxProcs: maxProcs, deadline: 30)
                XCTAssertEqual(status, 0, "\(scenario) maxProcs \(maxProcs) run \(run): \(output)",
                               file: file, line: line)
                XCTAssertTrue(output.contains("OK \(scenario)"), "\(scenario) maxProcs \(maxProcs) run \(run): \(output)",
                              file: file, line: line)
                if status != 0 { return }   // one failure says it; do not wait on more hangs
            }
        }
    }

    /// Runs one scenario in a child; status -1 when it missed the deadline (killed).
    static func runChild(scenario: String, maxProcs: Int, deadline: Double) -> (Int32, String) {
        ChildScenario.run(test: "TimesliceTests.LockAwarenessTests/testLockScenarioChild", variable: childVariable,
                          value: "\(scenario):\(maxProcs)", deadline: deadline)
    }

    // MARK: Child side

    /// Does something only in the child: runs the scenario named by the environment
    /// and exits 0 when every count and check held, 1 otherwise.
    func testLockScenarioChild() {
        guard let spec = ProcessInfo.processInfo.environment[Self.childVariable] else { return }
        let parts = spec.split(separator: ":")
        let scenario = String(parts[0])
        let maxProcs = Int(parts[1])!
        let verdict = runLockScenario(scenario, maxProcs: maxProcs)
        print(verdict.ok ? "OK \(scenario) maxProcs \(maxProcs): \(verdict.detail)"
                         : "FAIL \(scenario) maxProcs \(maxProcs): \(verdict.detail)")
        fflush(stdout)
        exit(verdict.ok ? 0 : 1)
    }
}

/// The shared state of a scenario: raw memory, so the checks themselves take no lock
/// and no exclusivity-checked access.
private final class Shared: @unchecked Sendable {
    let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    let inside = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    let overlaps = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
    let errors = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
    let firstError = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
    init() {
        counter.initialize(to: 0)
        inside.initialize(to: 0)
        overlaps.initialize(to: Atomic(0))
        errors.initialize(to: Atomic(0))
        firstError.initialize(to: Atomic(0))
    }

    func check(_ rc: Int32) {
        guard rc != 0 else { return }
        errors.pointee.wrappingAdd(1, ordering: .relaxed)
        _ = firstError.pointee.compareExchange(expected: 0, desired: Int(rc), ordering: .relaxed)
    }

    /// The critical section: about 4 µs of Swift code between reading and writing
    /// the counter, with the inside flag raised.
    @inline(never)
    func criticalSection() {
        let wasInside = inside.pointee
        inside.pointee = 1
        if wasInside != 0 { overlaps.pointee.wrappingAdd(1, ordering: .relaxed) }
        let value = counter.pointee
        spin(nanoseconds: 4_000)
        counter.pointee = value + 1
        if inside.pointee != 1 { overlaps.pointee.wrappingAdd(1, ordering: .relaxed) }
        inside.pointee = 0
    }
}

@inline(never)
private func spin(nanoseconds: UInt64) {
    let end = monotonicNanoseconds() &+ nanoseconds
    var x = 0
    repeat {
        for k in 0..<64 { x = x &* 31 &+ k }
    } while monotonicNanoseconds() < end && x != 1
}

/// One lock kind: how a goroutine enters and leaves the critical section.
private protocol ScenarioLock: AnyObject, Sendable {
    func withLock(_ shared: Shared, _ body: () -> Void)
}

private final class PthreadMutexLock: ScenarioLock, @unchecked Sendable {
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init(type: Int32?) {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        if let type { pthread_mutexattr_settype(&attributes, type) }
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }
    func withLock(_ shared: Shared, _ body: () -> Void) {
        shared.check(pthread_mutex_lock(mutex))
        body()
        shared.check(pthread_mutex_unlock(mutex))
    }
}

private final class RwLock: ScenarioLock, @unchecked Sendable {
    let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    init() { pthread_rwlock_init(lock, nil) }
    func withLock(_ shared: Shared, _ body: () -> Void) {
        shared.check(pthread_rwlock_wrlock(lock))
        body()
        shared.check(pthread_rwlock_unlock(lock))
    }
}

private final class SpinLock: ScenarioLock, @unchecked Sendable {
    let lock = UnsafeMutablePointer<pthread_spinlock_t>.allocate(capacity: 1)
    init() { pthread_spin_init(lock, 0) }
    func withLock(_ shared: Shared, _ body: () -> Void) {
        shared.check(pthread_spin_lock(lock))
        body()
        shared.check(pthread_spin_unlock(lock))
    }
}

private final class FoundationLock: ScenarioLock, @unchecked Sendable {
    let lock: NSLocking
    init(_ lock: NSLocking) { self.lock = lock }
    func withLock(_ shared: Shared, _ body: () -> Void) {
        lock.lock()
        body()
        lock.unlock()
    }
}

/// NSCondition: every 16th section waits (with a short timeout) inside the lock, so the
/// mutex is released and re-acquired inside libc, out of sight of the interposer.
private final class ConditionLock: ScenarioLock, @unchecked Sendable {
    let condition = NSCondition()
    let turns = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    init() { turns.initialize(to: 0) }
    func withLock(_ shared: Shared, _ body: () -> Void) {
        condition.lock()
        turns.pointee += 1
        if turns.pointee % 16 == 0 {
            _ = condition.wait(until: Date().addingTimeInterval(0.0002))
        }
        body()
        condition.signal()
        condition.unlock()
    }
}

/// Synchronization.Mutex (its fast path is inlined: no interposer sees it) inside the
/// runtime's documented answer, withNoPreemption.
private final class SyncMutexLock: ScenarioLock, @unchecked Sendable {
    let mutex = Mutex(0)
    func withLock(_ shared: Shared, _ body: () -> Void) {
        withNoPreemption {
            mutex.withLock { _ in body() }
        }
    }
}

private func makeLock(_ scenario: String) -> ScenarioLock {
    switch scenario {
    case "mutex": return PthreadMutexLock(type: nil)
    case "errorcheck": return PthreadMutexLock(type: Int32(PTHREAD_MUTEX_ERRORCHECK))
    case "recursive": return PthreadMutexLock(type: Int32(PTHREAD_MUTEX_RECURSIVE))
    case "nslock": return FoundationLock(NSLock())
    case "nsrecursivelock": return FoundationLock(NSRecursiveLock())
    case "rwlock": return RwLock()
    case "spinlock": return SpinLock()
    case "nscondition": return ConditionLock()
    case "syncmutex-nopreempt": return SyncMutexLock()
    default: fatalError("unknown lock scenario \(scenario)")
    }
}

private func runLockScenario(_ scenario: String, maxProcs: Int) -> (ok: Bool, detail: String) {
    let shared = Shared()
    let lock = makeLock(scenario)
    let goroutines = LockAwarenessTests.goroutines
    let sections = LockAwarenessTests.sections
    var configuration = RuntimeConfiguration(maxProcs: maxProcs, preemption: .async,
                                             timeSliceNanoseconds: 50_000)
    configuration.schedtraceMilliseconds = nil
    let started = monotonicNanoseconds()
    let counters = Runtime.run(configuration) { () -> RuntimeCounters in
        let wg = WaitGroup()
        for _ in 0..<goroutines {
            wg.add()
            go {
                for _ in 0..<sections {
                    lock.withLock(shared) { shared.criticalSection() }
                    spin(nanoseconds: 1_000)   // some work outside the lock
                }
                wg.done()
            }
        }
        wg.wait()
        return Runtime.counters
    }
    let elapsed = Double(monotonicNanoseconds() - started) / 1e9
    let expected = goroutines * sections
    let count = shared.counter.pointee
    let overlaps = shared.overlaps.pointee.load(ordering: .relaxed)
    let errors = shared.errors.pointee.load(ordering: .relaxed)
    let firstError = shared.firstError.pointee.load(ordering: .relaxed)
    let detail = "count \(count)/\(expected), overlaps \(overlaps), lock errors \(errors)"
        + (errors > 0 ? " (first: \(String(cString: strerror(Int32(firstError)))))" : "")
        + ", preemptions requested \(counters.preemptionsRequested) delivered \(counters.preemptionsDelivered)"
        + " honoured \(counters.preemptionsHonoured), \(String(format: "%.2f", elapsed)) s"
    return (count == expected && overlaps == 0 && errors == 0, detail)
}
