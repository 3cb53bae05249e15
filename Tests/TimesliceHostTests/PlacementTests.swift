// Placement resolution: exact layouts on fake topologies, pins, and every
// error message a user can get, verbatim.

import Foundation
import TimesliceHost
import XCTest

final class PlacementTests: XCTestCase {
    private func resolver(_ host: FakeHost, allowed: CPUSet? = nil) -> PlacementResolver {
        PlacementResolver(host: HostSnapshot.capture(host.fs, allowed: allowed))
    }

    private func firstCPUs(_ plan: PlacementPlan) -> [Int] {
        plan.workerCPUs.map { $0.sorted[0] }
    }

    func testCompactFillsSiblingsThenCoresThenPackages() throws {
        let plan = try resolver(.twoSocket()).resolve(PlacementSpec(workers: .compact), workers: 16)
        XCTAssertEqual(firstCPUs(plan), [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15])
        XCTAssertTrue(plan.workerCPUs.allSatisfy { $0.count == 1 })
        XCTAssertTrue(plan.warnings.isEmpty)
        XCTAssertNil(plan.sysmonCPUs)
        XCTAssertNil(plan.mainCPUs)
    }

    func testScatterSpreadsPackagesThenCoresThenSiblings() throws {
        let plan = try resolver(.twoSocket()).resolve(PlacementSpec(workers: .scatter), workers: 16)
        XCTAssertEqual(firstCPUs(plan), [0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15])
    }

    func testLayoutsRespectTheAllowedSet() throws {
        let r = resolver(.twoSocket(), allowed: [2, 3, 10, 11, 12])
        XCTAssertEqual(r.compactOrder(), [2, 10, 3, 11, 12])
        // CPU 12 is the only allowed thread of its core, so it stands in for the core.
        XCTAssertEqual(r.scatterOrder(), [2, 12, 3, 10, 11])
    }

    func testWrapAroundWarns() throws {
        let plan = try resolver(.realLike()).resolve(PlacementSpec(workers: .compact), workers: 5)
        XCTAssertEqual(firstCPUs(plan), [0, 1, 0, 1, 0])
        XCTAssertEqual(plan.warnings, ["5 workers but only 2 CPUs in the compact placement: workers wrap around and share CPUs"])
        XCTAssertEqual(plan.cpusForWorker(7), [0])  // workerCPUs[7 % 5]
        XCTAssertEqual(plan.cpusForWorker(6), [1])
    }

    func testExplicitPins() throws {
        let plan = try resolver(.twoSocket()).resolve(PlacementSpec(workers: .explicit([3, 9, 14]), sysmon: .explicit([0]), main: .explicit([0, 1])), workers: 4)
        XCTAssertEqual(plan.workerCPUs, [[3], [9], [14], [3]])
        XCTAssertEqual(plan.cpusForWorker(5), [9])
        XCTAssertEqual(plan.sysmonCPUs, [0])
        XCTAssertEqual(plan.mainCPUs, [0, 1])
        XCTAssertEqual(plan.workerCount, 4)
    }

    func testNoneLeavesAffinityAlone() throws {
        let plan = try resolver(.twoSocket()).resolve(PlacementSpec(), workers: 4)
        XCTAssertTrue(plan.workerCPUs.isEmpty)
        XCTAssertNil(plan.cpusForWorker(0))
        XCTAssertNil(plan.sysmonCPUs)
        XCTAssertNil(plan.mainCPUs)
    }

    func testNUMAGivesTheWholeNode() throws {
        let plan = try resolver(.twoSocket(), allowed: CPUSet(0..<14)).resolve(PlacementSpec(workers: .numa(1), sysmon: .numa(0)), workers: 3)
        XCTAssertEqual(plan.workerCPUs, Array(repeating: try CPUSet(parsing: "4-7,12-13"), count: 3))
        XCTAssertEqual(plan.sysmonCPUs, try CPUSet(parsing: "0-3,8-11"))
        XCTAssertTrue(plan.warnings.isEmpty)
    }

    func testIsolatedUsesKernelSet() throws {
        let host = FakeHost.machine(sockets: 1, cores: 4, threads: 1, cmdline: "quiet isolcpus=domain,managed_irq,2-3")
        let plan = try resolver(host).resolve(PlacementSpec(workers: .isolated, sysmon: .compact), workers: 3)
        XCTAssertEqual(plan.workerCPUs, [[2], [3], [2]])
        XCTAssertEqual(plan.sysmonCPUs, [0])
        XCTAssertEqual(plan.warnings.count, 1)
        // The sysfs isolated file counts too (cpuset partitions isolate at run time).
        let runtimeIsolated = FakeHost.machine(sockets: 1, cores: 4, threads: 1, sysfsIsolated: "1")
        XCTAssertEqual(try resolver(runtimeIsolated).resolve(PlacementSpec(workers: .isolated), workers: 1).workerCPUs, [[1]])
    }

    // MARK: Error messages, verbatim

    private func error(_ r: PlacementResolver, _ spec: PlacementSpec, workers: Int = 2) -> String? {
        do {
            _ = try r.resolve(spec, workers: workers)
            return nil
        } catch let error as PlacementError {
            return error.message
        } catch {
            return "unexpected \(error)"
        }
    }

    func testCPUDoesNotExist() {
        XCTAssertEqual(error(resolver(.realLike()), PlacementSpec(workers: .explicit([0, 7]))),
                       "CPU 7 does not exist (online: 0-1; allowed: 0-1)")
        XCTAssertEqual(error(resolver(.realLike()), PlacementSpec(main: .explicit([-1]))),
                       "CPU -1 does not exist (online: 0-1; allowed: 0-1)")
    }

    func testCPUNotAllowed() {
        let host = FakeHost.machine(sockets: 1, cores: 4, threads: 1)
        XCTAssertEqual(error(resolver(host, allowed: [0, 2, 3]), PlacementSpec(workers: .explicit([1]))),
                       "CPU 1 is not allowed by the cpuset/affinity of this process (online: 0-3; allowed: 0,2-3)")
    }

    func testCgroupCpusetLimitsAllowed() {
        let host = FakeHost.machine(sockets: 1, cores: 4, threads: 1)
        host.addCgroupV2(cpuMax: "max 100000", cpuset: "0,2-3")
        XCTAssertEqual(error(resolver(host), PlacementSpec(sysmon: .explicit([1]))),
                       "CPU 1 is not allowed by the cpuset/affinity of this process (online: 0-3; allowed: 0,2-3)")
    }

    func testMessagesNameIsolatedCPUsWhenThereAreSome() {
        let host = FakeHost.machine(sockets: 1, cores: 4, threads: 1, cmdline: "isolcpus=2-3")
        XCTAssertEqual(error(resolver(host), PlacementSpec(workers: .explicit([9]))),
                       "CPU 9 does not exist (online: 0-3; allowed: 0-3; isolated: 2-3)")
        let cpuset = FakeHost.machine(sockets: 1, cores: 4, threads: 1, cmdline: "isolcpus=2-3")
        cpuset.addCgroupV2(cpuMax: "max 100000", cpuset: "0-1")
        XCTAssertEqual(error(resolver(cpuset), PlacementSpec(workers: .isolated)),
                       "the isolated CPUs 2-3 are not allowed by the cgroup cpuset of this process (online: 0-3; allowed: 0-1; isolated: 2-3)")
    }

    /// With isolcpus the kernel starts init (and so every process) with the housekeeping
    /// CPUs as its affinity mask; the isolated CPUs stay reachable with sched_setaffinity.
    /// Found booting a guest with isolcpus=2,3 (`make guest-test`).
    func testIsolatedCPUsOutsideTheInheritedAffinityMaskAreReachable() throws {
        let host = FakeHost.machine(sockets: 1, cores: 4, threads: 1, cmdline: "isolcpus=2,3 nohz_full=2,3")
        let r = resolver(host, allowed: [0, 1])
        XCTAssertEqual(try r.resolve(PlacementSpec(workers: .isolated), workers: 2).workerCPUs, [[2], [3]])
        XCTAssertEqual(try r.resolve(PlacementSpec(workers: .explicit([3])), workers: 1).workerCPUs, [[3]])
        // Housekeeping CPUs outside the mask are still refused.
        XCTAssertEqual(error(resolver(host, allowed: [0]), PlacementSpec(workers: .explicit([1]))),
                       "CPU 1 is not allowed by the cpuset/affinity of this process (online: 0-3; allowed: 0; isolated: 2-3)")
    }

    func testNUMANodeDoesNotExist() {
        XCTAssertEqual(error(resolver(.realLike()), PlacementSpec(workers: .numa(3))),
                       "NUMA node 3 does not exist (nodes: 0)")
    }

    func testNUMANodeHasNoAllowedCPUs() {
        let host = FakeHost.machine(sockets: 2, cores: 4, threads: 1)
        XCTAssertEqual(error(resolver(host, allowed: [0, 1, 2, 3]), PlacementSpec(workers: .numa(1))),
                       "NUMA node 1 has no allowed CPUs (node 1: 4-7; allowed: 0-3)")
    }

    func testNoIsolatedCPUs() {
        XCTAssertEqual(error(resolver(.realLike()), PlacementSpec(workers: .isolated)),
                       "no CPUs are isolated on this host (isolcpus= and /sys/devices/system/cpu/isolated are empty; online: 0-1; allowed: 0-1): "
                       + "boot the kernel with isolcpus=domain,managed_irq,1 nohz_full=1 rcu_nocbs=1 to isolate CPU 1, or use another placement policy")
    }

    func testEmptyExplicitAndNegativeWorkers() {
        XCTAssertEqual(error(resolver(.realLike()), PlacementSpec(workers: .explicit([]))),
                       "explicit placement for workers lists no CPUs (online: 0-1; allowed: 0-1)")
        XCTAssertEqual(error(resolver(.realLike()), PlacementSpec(), workers: -1),
                       "worker count must not be negative (got -1)")
    }

    // MARK: Configuration values

    func testPolicyJSON() throws {
        let cases: [(PlacementPolicy, String)] = [
            (.none, #""none""#), (.compact, #""compact""#), (.scatter, #""scatter""#), (.isolated, #""isolated""#),
            (.explicit([0, 1]), #"{"explicit":[0,1]}"#), (.numa(0), #"{"numa":0}"#),
        ]
        for (policy, json) in cases {
            XCTAssertEqual(String(decoding: try JSONEncoder().encode(policy), as: UTF8.self), json)
            XCTAssertEqual(try JSONDecoder().decode(PlacementPolicy.self, from: Data(json.utf8)), policy)
        }
        XCTAssertThrowsError(try JSONDecoder().decode(PlacementPolicy.self, from: Data(#""spread""#.utf8))) { error in
            XCTAssertTrue("\(error)".contains("unknown placement policy \\\"spread\\\"") || "\(error)".contains("unknown placement policy \"spread\""), "\(error)")
        }
        XCTAssertThrowsError(try JSONDecoder().decode(PlacementPolicy.self, from: Data(#"{"cores":2}"#.utf8)))
    }

    func testPolicyText() {
        XCTAssertEqual(PlacementPolicy.explicit([0, 1]).description, "explicit(0,1)")
        XCTAssertEqual(PlacementPolicy.numa(0).description, "numa(0)")
        XCTAssertEqual(PlacementPolicy("explicit(3,0-1)"), .explicit([3, 0, 1]))
        XCTAssertEqual(PlacementPolicy("numa(1)"), .numa(1))
        XCTAssertEqual(PlacementPolicy("scatter"), .scatter)
        XCTAssertNil(PlacementPolicy("explicit()"))
        XCTAssertNil(PlacementPolicy("numa(x)"))
    }

    func testSpecJSONKeysAreOptional() throws {
        let spec = try JSONDecoder().decode(PlacementSpec.self, from: Data(#"{"workers":{"explicit":[0,1]}}"#.utf8))
        XCTAssertEqual(spec, PlacementSpec(workers: .explicit([0, 1]), sysmon: .none, main: .none))
        XCTAssertEqual(try JSONDecoder().decode(PlacementSpec.self, from: Data("{}".utf8)), PlacementSpec())
        let full = PlacementSpec(workers: .scatter, sysmon: .numa(0), main: .explicit([0]))
        XCTAssertEqual(try JSONDecoder().decode(PlacementSpec.self, from: JSONEncoder().encode(full)), full)
    }

    func testPlanRoundTripsThroughJSON() throws {
        let plan = try resolver(.twoSocket()).resolve(PlacementSpec(workers: .scatter, main: .explicit([0])), workers: 4)
        XCTAssertEqual(try JSONDecoder().decode(PlacementPlan.self, from: JSONEncoder().encode(plan)), plan)
    }
}
