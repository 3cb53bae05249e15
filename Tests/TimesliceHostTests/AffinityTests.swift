// Pinning a real thread and proving it with sched_getaffinity and getcpu.

import Foundation
import TimesliceHost
import XCTest

final class AffinityTests: XCTestCase {
    /// Runs `body` on a fresh thread (so the test runner's thread keeps its
    /// affinity) and waits for it.
    private func onFreshThread(_ body: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.start()
        done.wait()
    }

    func testPinEachAllowedCPUAndVerify() throws {
        final class Results: @unchecked Sendable {
            // Written by the worker thread only, read after the semaphore (which orders the accesses).
            var original: CPUSet = []
            var pinned: [(cpu: Int, affinity: CPUSet, ranOn: Int, node: Int)] = []
            var restored: CPUSet = []
            var errors: [String] = []
        }
        let results = Results()
        onFreshThread {
            do {
                let original = try Affinity.current()
                results.original = original
                for cpu in original {
                    try Affinity.setCurrentThread([cpu])
                    let where_ = Affinity.currentCPU()
                    results.pinned.append((cpu, try Affinity.current(), where_.cpu, where_.node))
                }
                try Affinity.setCurrentThread(original)
                results.restored = try Affinity.current()
            } catch {
                results.errors.append("\(error)")
            }
        }
        XCTAssertEqual(results.errors, [])
        XCTAssertFalse(results.original.isEmpty)
        XCTAssertEqual(results.pinned.count, results.original.count)
        let topology = CPUTopology.read()
        for p in results.pinned {
            XCTAssertEqual(p.affinity, [p.cpu], "sched_getaffinity after pinning to \(p.cpu)")
            XCTAssertEqual(p.ranOn, p.cpu, "getcpu after pinning to \(p.cpu)")
            if let info = topology.info(p.cpu) { XCTAssertEqual(p.node, info.nodeID) }
        }
        XCTAssertEqual(results.restored, results.original)
    }

    func testPinAnotherThreadByTid() throws {
        final class Box: @unchecked Sendable {
            var tid: Int32 = 0
            var seen: CPUSet = []
            let ready = DispatchSemaphore(value: 0)
            let go = DispatchSemaphore(value: 0)
            let done = DispatchSemaphore(value: 0)
        }
        let box = Box()
        Thread {
            box.tid = Affinity.currentThreadID()
            box.ready.signal()
            box.go.wait()
            box.seen = (try? Affinity.current()) ?? []
            box.done.signal()
        }.start()
        box.ready.wait()
        let target = try Affinity.current().sorted.last!
        try Affinity.set([target], tid: box.tid)
        XCTAssertEqual(try Affinity.get(tid: box.tid), [target])
        box.go.signal()
        box.done.wait()
        XCTAssertEqual(box.seen, [target])
    }

    func testBadRequestsCarryTheSyscallName() {
        XCTAssertThrowsError(try Affinity.set([], tid: 0)) { error in
            XCTAssertTrue("\(error)".hasPrefix("sched_setaffinity(tid 0, cpus none): Invalid argument"), "\(error)")
        }
        // A CPU far beyond any online one: the kernel refuses the empty effective mask.
        XCTAssertThrowsError(try Affinity.set([4000], tid: 0)) { error in
            XCTAssertEqual((error as? HostSyscallError)?.call, "sched_setaffinity")
            XCTAssertEqual((error as? HostSyscallError)?.errno, EINVAL)
        }
        XCTAssertFalse(try Affinity.current().isEmpty, "a failed set must leave affinity untouched")
    }
}
