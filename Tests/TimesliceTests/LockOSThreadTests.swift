// Ports of Go's TestLockOSThread, TestLockOSThreadNesting, TestLockOSThreadExit
// (runtime/proc_test.go, runtime/lockosthread_test.go).
import CTimeslice
import Foundation
@testable import Timeslice
import XCTest

final class LockOSThreadTests: XCTestCase {
    /// A locked goroutine observes the same thread id across every kind of
    /// switch, while other goroutines keep running on the single P.
    func testLockedGoroutineStaysOnItsThread() {
        let (tids, othersRan) = runWithDeadline(60, maxProcs: 1) { () -> (Set<Int32>, Int) in
            var tids: Set<Int32> = []
            var othersRan = 0
            let done = Channel<Bool>()
            let ping = Channel<Int>()
            go {
                lockOSThread()
                for i in 0..<50 {
                    tids.insert(ts_gettid())
                    switch i % 4 {
                    case 0: yield()
                    case 1: Timeslice.sleep(nanoseconds: 100_000)
                    case 2: ping.send(i)                       // parks until received
                    default: blockingCall { usleep(200) }
                    }
                    tids.insert(ts_gettid())
                }
                unlockOSThread()
                done.send(true)
            }
            go {
                while let _ = ping.receive() { othersRan += 1 }
            }
            go {
                for _ in 0..<100 { othersRan += 1; yield() }
            }
            _ = done.receive()
            ping.close()
            return (tids, othersRan)
        }
        XCTAssertEqual(tids.count, 1, "a locked goroutine ran on \(tids.count) threads")
        XCTAssertGreaterThan(othersRan, 100, "other goroutines must run while the locked one waits")
    }

    func testNestingNeedsMatchingUnlocks() {
        let states = runWithDeadline(10, maxProcs: 1) { () -> [Bool] in
            var states: [Bool] = []
            lockOSThread()
            lockOSThread()
            states.append(isLockedToOSThread)
            unlockOSThread()
            states.append(isLockedToOSThread)   // still locked: one lock left
            unlockOSThread()
            states.append(isLockedToOSThread)
            unlockOSThread()                    // unmatched: no effect
            states.append(isLockedToOSThread)
            return states
        }
        XCTAssertEqual(states, [true, true, false, false])
    }

    /// A goroutine that exits while locked takes its thread with it.
    func testExitWhileLockedRetiresTheThread() {
        let (retiredTid, retired, stillWorks) = runWithDeadline(60, maxProcs: 2) { () -> (Int32, UInt64, Int) in
            let tid = Channel<Int32>(capacity: 1)
            go {
                lockOSThread()
                tid.send(ts_gettid())
                // exits without unlockOSThread
            }
            let lockedTid = tid.receive()!
            // Wait until the kernel no longer lists the thread.
            while FileManager.default.fileExists(atPath: "/proc/self/task/\(lockedTid)") {
                Timeslice.sleep(nanoseconds: 1_000_000)
            }
            // The runtime keeps working with its remaining threads.
            let wg = WaitGroup()
            var n = 0
            let mu = ParkingMutex()
            for _ in 0..<100 { wg.add(); go { mu.withLock { n += 1 }; wg.done() } }
            wg.wait()
            return (lockedTid, Runtime.counters.threadsRetired, n)
        }
        XCTAssertGreaterThan(retiredTid, 0)
        XCTAssertEqual(retired, 1)
        XCTAssertEqual(stillWorks, 100)
    }

    /// Thread-local state seen from a locked goroutine is always its own thread's.
    func testLockedGoroutineSeesItsThreadLocalState() {
        let consistent = runWithDeadline(60, maxProcs: 2, preemption: .async, timeSliceNanoseconds: 100_000) { () -> Bool in
            let result = Channel<Bool>(capacity: 4)
            for _ in 0..<4 {
                go {
                    lockOSThread()
                    let key = pthread_self()
                    var ok = true
                    for _ in 0..<2000 {
                        var x = 0
                        for k in 0..<500 { x &+= k }
                        if pthread_self() != key || x == -1 { ok = false }
                        if x % 3 == 0 { yield() }
                    }
                    unlockOSThread()
                    result.send(ok)
                }
            }
            var all = true
            for _ in 0..<4 { all = all && result.receive()! }
            return all
        }
        XCTAssertTrue(consistent)
    }
}
