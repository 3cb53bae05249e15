// Placement per M as the runtime applies it: every pin verified by the kernel
// (sched_getaffinity) and by where the thread actually runs (getcpu); NUMA stack
// binding checked with move_pages; impossible requests refused before a thread starts.
import CTimeslice
import Foundation
@testable import Timeslice
import TimesliceHost
import XCTest

final class PlacementTests: XCTestCase {
    private func run<T>(_ placement: PlacementSpec, procs: Int, _ body: @escaping () -> T) -> T {
        let watchdog = Watchdog(seconds: 60, what: "PlacementTests")
        defer { watchdog.cancel() }
        return Runtime.run(RuntimeConfiguration(maxProcs: procs, placement: placement), body)
    }

    /// The CPUs this process may use (online ∩ cgroup cpuset), independent of any
    /// mask an earlier test left on the runner thread; the thread is widened to them
    /// for the test and restored by the caller.
    private func usableCPUsWideningThisThread() throws -> CPUSet {
        let host = HostSnapshot.capture(allowed: CPUTopology.read().online)
        let usable = CgroupLimits.read().cpuset.map { host.topology.online.intersection($0) } ?? host.topology.online
        try Affinity.setCurrentThread(usable)
        return usable
    }

    func testExplicitPinsAreAppliedAndVerifiedPerM() throws {
        let before = try Affinity.current()
        defer { try? Affinity.setCurrentThread(before) }
        let online = try usableCPUsWideningThisThread()
        guard online.count >= 2 else { throw XCTSkip("needs 2 allowed CPUs") }
        let cpus = Array(online.sorted.prefix(2))
        let spec = PlacementSpec(workers: .explicit(cpus), sysmon: .explicit([cpus[1]]), main: .explicit([cpus[0]]))
        let observed = run(spec, procs: 2) { () -> [Int32: Set<Int>] in
            // Every goroutine records the CPU it runs on, per thread.
            let mu = ParkingMutex()
            var seen: [Int32: Set<Int>] = [:]
            let wg = WaitGroup()
            for _ in 0..<200 {
                wg.add()
                go {
                    for _ in 0..<20 {
                        let cpu = Affinity.currentCPU().cpu
                        let tid = ts_gettid()
                        mu.withLock { seen[tid, default: []].insert(cpu) }
                        yield()
                    }
                    wg.done()
                }
            }
            wg.wait()
            return seen
        }
        let applied = Runtime.placement
        let workers = applied.filter { $0.thread.hasPrefix("M") }
        XCTAssertGreaterThanOrEqual(workers.count, 1)
        for a in applied {
            XCTAssertNil(a.error, "\(a.thread): \(a.error ?? "")")
            XCTAssertEqual(a.verified, a.requested, a.thread)
            if let requested = a.requested { XCTAssertTrue(requested.contains(a.observedCPU), a.thread) }
        }
        XCTAssertEqual(applied.first { $0.thread == "M0" }?.requested, CPUSet([cpus[0]]))
        XCTAssertEqual(applied.first { $0.thread == "sysmon" }?.requested, CPUSet([cpus[1]]))
        XCTAssertEqual(applied.first { $0.thread == "main" }?.requested, CPUSet([cpus[0]]))
        // Every thread that ran goroutines stayed on exactly one CPU of the set.
        for (_, cpusSeen) in observed {
            XCTAssertEqual(cpusSeen.count, 1)
            XCTAssertTrue(cpusSeen.isSubset(of: Set(cpus)))
        }
    }

    func testMainThreadAffinityIsRestoredAfterTheRun() throws {
        let original = try Affinity.current()
        defer { try? Affinity.setCurrentThread(original) }
        let before = try usableCPUsWideningThisThread()
        guard before.count >= 2 else { throw XCTSkip("needs 2 allowed CPUs") }
        _ = run(PlacementSpec(main: .explicit([before.sorted[1]])), procs: 1) { 0 }
        XCTAssertEqual(try Affinity.current(), before)
    }

    func testStacksAreBoundToTheWorkersNUMANode() throws {
        guard NUMAMemory.isAvailable else { throw XCTSkip("libnuma reports NUMA unavailable") }
        let node = NUMATopology.read().nodes.first!.id
        let nodes = run(PlacementSpec(workers: .numa(node)), procs: 2) { () -> [Int?] in
            let results = Channel<Int?>(capacity: 16)
            for _ in 0..<16 { go { results.send(Runtime.currentStackNode) } }
            return (0..<16).map { _ in results.receive()! }
        }
        XCTAssertEqual(nodes, Array(repeating: node, count: 16))
    }

    func testImpossibleRequestsAreRefusedWithTheResolverMessage() {
        let nodes = NUMATopology.read().nodes.map(\.id)
        let missingNode = (nodes.max() ?? 0) + 5
        XCTAssertThrowsError(try Runtime.validate(RuntimeConfiguration(placement: PlacementSpec(workers: .numa(missingNode))))) {
            XCTAssertTrue("\($0)".contains("NUMA node \(missingNode) does not exist"), "\($0)")
        }
        XCTAssertThrowsError(try Runtime.validate(RuntimeConfiguration(placement: PlacementSpec(workers: .explicit([4096]))))) {
            XCTAssertTrue("\($0)".hasPrefix("CPU 4096 does not exist (online: "), "\($0)")
        }
        XCTAssertNoThrow(try Runtime.validate(RuntimeConfiguration(placement: PlacementSpec(workers: .compact))))
    }
}
