// CPU quota and cpuset from cgroup v1 and v2 trees.

import TimesliceHost
import XCTest

final class CgroupTests: XCTestCase {
    func testQuotaParsing() {
        XCTAssertNil(CgroupLimits.v2Quota("max 100000"))
        XCTAssertEqual(CgroupLimits.v2Quota("150000 100000"), 1.5)
        XCTAssertEqual(CgroupLimits.v2Quota("50000 100000"), 0.5)
        XCTAssertEqual(CgroupLimits.v2Quota("200000"), 2)
        XCTAssertNil(CgroupLimits.v1Quota(quota: "-1", period: "100000"))
        XCTAssertEqual(CgroupLimits.v1Quota(quota: "150000", period: "100000"), 1.5)
        XCTAssertNil(CgroupLimits.v1Quota(quota: "150000", period: nil))
    }

    func testV2Unlimited() {
        let host = FakeHost.twoSocket()
        host.addCgroupV2(cpuMax: "max 100000", cpuset: "0-3")
        let limits = CgroupLimits.read(host.fs)
        XCTAssertEqual(limits.version, 2)
        XCTAssertNil(limits.cpuQuotaCores)
        XCTAssertEqual(limits.cpuset, [0, 1, 2, 3])
        XCTAssertEqual(limits.cpuPath, "/sys/fs/cgroup/user.slice/app")
    }

    func testV2Quota() {
        let host = FakeHost.twoSocket()
        host.addCgroupV2(cpuMax: "150000 100000", cpuset: nil)
        let limits = CgroupLimits.read(host.fs)
        XCTAssertEqual(limits.version, 2)
        XCTAssertEqual(limits.cpuQuotaCores, 1.5)
        XCTAssertNil(limits.cpuset)
    }

    func testV2RootCgroupHasNoLimit() {
        let host = FakeHost.twoSocket()
        host.addCgroupV2(path: "/", cpuMax: nil, cpuset: nil)
        let limits = CgroupLimits.read(host.fs)
        XCTAssertEqual(limits.version, 2)
        XCTAssertNil(limits.cpuQuotaCores)
        XCTAssertEqual(limits.cpuPath, "/sys/fs/cgroup")
    }

    func testV1QuotaInContainer() {
        let host = FakeHost.twoSocket()
        host.write("/proc/self/cgroup", "5:cpuset:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n")
        host.write("/proc/self/mountinfo", """
            25 20 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
            26 20 0:23 / /sys/fs/cgroup/cpuset rw,nosuid - cgroup cgroup rw,cpuset
            27 20 0:24 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw

            """)
        host.write("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n")
        host.write("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
        host.write("/sys/fs/cgroup/cpuset/docker/abc/cpuset.effective_cpus", "0-1,8\n")
        let limits = CgroupLimits.read(host.fs)
        XCTAssertEqual(limits.version, 1)
        XCTAssertEqual(limits.cpuQuotaCores, 1.5)
        XCTAssertEqual(limits.cpuset, [0, 1, 8])
        XCTAssertEqual(limits.cpuPath, "/sys/fs/cgroup/cpu,cpuacct/docker/abc")
    }

    func testV1Unlimited() {
        let host = FakeHost.realLike()
        let limits = CgroupLimits.read(host.fs)
        XCTAssertEqual(limits.version, 1)
        XCTAssertNil(limits.cpuQuotaCores)
        XCTAssertEqual(limits.cpuset, [0, 1])
    }

    func testNamespacedMountRootIsStripped() {
        // Inside a cgroup namespace the mount's root is our own cgroup.
        let host = FakeHost.twoSocket()
        host.write("/proc/self/cgroup", "0::/kubepods/pod1/ctr\n")
        host.write("/proc/self/mountinfo", "30 23 0:26 /kubepods/pod1/ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
        host.write("/sys/fs/cgroup/cpu.max", "250000 100000\n")
        let limits = CgroupLimits.read(host.fs)
        XCTAssertEqual(limits.cpuQuotaCores, 2.5)
        XCTAssertEqual(limits.cpuPath, "/sys/fs/cgroup")
    }

    func testNoCgroupAtAll() {
        let host = FakeHost.twoSocket()
        let limits = CgroupLimits.read(host.fs)
        XCTAssertNil(limits.version)
        XCTAssertNil(limits.cpuQuotaCores)
        XCTAssertNil(limits.cpuset)
    }

    func testLiveHostIsConsistent() {
        let limits = CgroupLimits.read()
        let online = CPUTopology.read().online
        if let cpuset = limits.cpuset { XCTAssertTrue(cpuset.isSubset(of: online), "\(cpuset) vs \(online)") }
        if let quota = limits.cpuQuotaCores { XCTAssertGreaterThan(quota, 0) }
    }
}
