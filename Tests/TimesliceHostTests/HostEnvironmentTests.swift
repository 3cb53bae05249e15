// The environment report and the warnings that say when a run cannot mean
// what it claims.

import Foundation
import TimesliceHost
import XCTest

final class HostEnvironmentTests: XCTestCase {
    func testCaptureFromFakeTree() {
        let host = FakeHost.twoSocket(cmdline: "quiet isolcpus=domain,managed_irq,4-7 nohz_full=4-7 rcu_nocbs=4-7")
        for cpu in 0..<16 {
            host.write("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_governor", cpu < 8 ? "performance\n" : "powersave\n")
        }
        host.addCgroupV2(cpuMax: "150000 100000", cpuset: "0-15")
        let env = HostEnvironment.capture(host.fs)
        XCTAssertEqual(env.kernelRelease, "6.1.0-fake")
        XCTAssertEqual(env.cpuModel, "Fake Xeon 6000")
        XCTAssertNil(env.hypervisor)
        XCTAssertEqual(env.onlineCPUs, CPUSet(0..<16))
        XCTAssertEqual(env.allowedCPUs, CPUSet(0..<16))
        XCTAssertEqual(env.isolatedCPUs, [4, 5, 6, 7])
        XCTAssertEqual(env.nohzFull, [4, 5, 6, 7])
        XCTAssertEqual(env.rcuNocbs, [4, 5, 6, 7])
        XCTAssertTrue(env.smtActive)
        XCTAssertEqual(env.governors["3"], "performance")
        XCTAssertEqual(env.governors["12"], "powersave")
        XCTAssertEqual(env.cgroup.cpuQuotaCores, 1.5)
        XCTAssertEqual(env.defaultMaxProcs, 2)
        XCTAssertEqual(env.numa.nodes.count, 2)
    }

    func testWarnings() throws {
        let host = FakeHost.twoSocket(cmdline: "quiet isolcpus=domain,managed_irq,4-7 nohz_full=4-7")
        for cpu in 0..<16 {
            host.write("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_governor", cpu == 8 ? "powersave\n" : "performance\n")
        }
        host.addCgroupV2(cpuMax: "150000 100000", cpuset: nil)
        let env = HostEnvironment.capture(host.fs)
        // Workers on CPUs 4 (isolated), 0 and 8 (siblings, not isolated); main shares CPU 0.
        let plan = try PlacementResolver(host: env.snapshot)
            .resolve(PlacementSpec(workers: .explicit([4, 0, 8]), sysmon: .explicit([1]), main: .explicit([0])), workers: 3)
        XCTAssertEqual(env.warnings(for: plan), [
            "CPU 0 is not isolated (isolcpus/nohz_full not set for it)",
            "CPU 8 is not isolated (isolcpus/nohz_full not set for it)",
            "workers 1 and 2 run on SMT siblings (CPUs 0 and 8 share a core)",
            "main thread shares CPU 0 with workers",
            "CPU 8 uses the powersave cpufreq governor, not performance: frequency changes add jitter",
            "cgroup CPU quota is 1.5 CPUs, below the 3 workers: the cgroup will throttle them",
        ])
    }

    func testWarningsOnAGuestWithUnpinnedHousekeeping() throws {
        let host = FakeHost.realLike()
        let env = HostEnvironment.capture(host.fs)
        XCTAssertEqual(env.hypervisor, "unknown (cpuinfo hypervisor flag)")
        XCTAssertTrue(env.governors.isEmpty)
        let plan = try PlacementResolver(host: env.snapshot).resolve(PlacementSpec(workers: .explicit([1])), workers: 1)
        XCTAssertEqual(env.warnings(for: plan), [
            "CPU 1 is not isolated (isolcpus/nohz_full not set for it)",
            "main thread is not pinned and may run on worker CPUs 1",
            "sysmon is not pinned and may run on worker CPUs 1",
            "running under a hypervisor (unknown (cpuinfo hypervisor flag)): the host can deschedule vCPUs, so latencies include time this guest cannot see",
        ])
        // An unpinned plan gets no per-CPU warnings.
        let none = try PlacementResolver(host: env.snapshot).resolve(PlacementSpec(), workers: 2)
        XCTAssertEqual(env.warnings(for: none).count, 1)
    }

    func testRenderTextAndJSON() throws {
        let host = FakeHost.realLike()
        let env = HostEnvironment.capture(host.fs)
        let plan = try PlacementResolver(host: env.snapshot).resolve(PlacementSpec(workers: .compact, main: .explicit([0])), workers: 2)
        let text = env.renderText(plan: plan)
        XCTAssertTrue(text.contains("online CPUs       0-1"), text)
        XCTAssertTrue(text.contains("NUMA node 0       CPUs 0-1, 5.1 GiB"), text)
        XCTAssertTrue(text.contains("cgroup            v1, cpu quota unlimited, cpuset 0-1"), text)
        XCTAssertTrue(text.contains("  workers         M0→0 M1→1"), text)
        XCTAssertTrue(text.contains("  - main thread shares CPU 0 with workers"), text)
        XCTAssertEqual(try JSONDecoder().decode(HostEnvironment.self, from: JSONEncoder().encode(env)), env)
    }

    /// `timeslice env` shows each node's SLIT distances (the in-guest check reads them there).
    func testRenderTextShowsNodeDistances() {
        let host = FakeHost.machine(sockets: 2, cores: 2, threads: 1)  // its tree lives as long as the object
        let text = HostEnvironment.capture(host.fs).renderText(plan: nil)
        let nodeLines = text.split(separator: "\n").filter { $0.hasPrefix("NUMA node") }
        guard nodeLines.count == 2 else { return XCTFail(text) }
        XCTAssertTrue(nodeLines[0].hasSuffix("distances 10 21"), text)
        XCTAssertTrue(nodeLines[1].hasPrefix("NUMA node 1       CPUs 2-3") && nodeLines[1].hasSuffix("distances 21 10"), text)
    }

    func testLiveCapture() {
        let env = HostEnvironment.capture()
        XCTAssertFalse(env.onlineCPUs.isEmpty)
        XCTAssertFalse(env.allowedCPUs.isEmpty)
        XCTAssertTrue(env.allowedCPUs.isSubset(of: env.onlineCPUs))
        XCTAssertNotNil(env.kernelRelease)
        XCTAssertGreaterThanOrEqual(env.defaultMaxProcs, 1)
        XCTAssertLessThanOrEqual(env.defaultMaxProcs, env.allowedCPUs.count)
        XCTAssertFalse(env.renderText().isEmpty)
    }
}
