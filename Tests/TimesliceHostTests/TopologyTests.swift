// CPU and NUMA topology from fake and live sysfs.

import TimesliceHost
import XCTest

final class TopologyTests: XCTestCase {
    func testTwoSocketTopology() {
        let host = FakeHost.twoSocket()
        let topology = CPUTopology.read(host.fs)
        XCTAssertEqual(topology.online, CPUSet(0..<16))
        XCTAssertEqual(topology.cpus.count, 16)
        let cpu9 = topology.info(9)!
        XCTAssertEqual(cpu9.coreID, 1)
        XCTAssertEqual(cpu9.packageID, 0)
        XCTAssertEqual(cpu9.nodeID, 0)
        XCTAssertEqual(cpu9.siblings, [1, 9])
        let cpu12 = topology.info(12)!
        XCTAssertEqual(cpu12.packageID, 1)
        XCTAssertEqual(cpu12.nodeID, 1)
        XCTAssertEqual(topology.smtSiblings(of: 4), [12])
        XCTAssertTrue(topology.hasSMT)

        let numa = NUMATopology.read(host.fs)
        XCTAssertEqual(numa.nodes.map(\.id), [0, 1])
        XCTAssertEqual(numa.nodes[0].cpus, try CPUSet(parsing: "0-3,8-11"))
        XCTAssertEqual(numa.nodes[1].cpus, try CPUSet(parsing: "4-7,12-15"))
        XCTAssertEqual(numa.nodes[1].memoryBytes, 16_777_216 * 1024)
        XCTAssertEqual(numa.nodes[0].distances, [10, 21])
    }

    func testRealLikeTopology() {
        let host = FakeHost.realLike()
        let topology = CPUTopology.read(host.fs)
        XCTAssertEqual(topology.online, [0, 1])
        XCTAssertEqual(topology.cpus.map(\.siblings), [[0], [1]])
        XCTAssertFalse(topology.hasSMT)
        let numa = NUMATopology.read(host.fs)
        XCTAssertEqual(numa.nodes.count, 1)
        XCTAssertEqual(numa.nodes[0].cpus, [0, 1])
        XCTAssertEqual(numa.nodes[0].memoryBytes, 5_335_256 * 1024)
    }

    func testMissingFilesMeanNotExposedNotInvented() {
        // A kernel without NUMA or topology files: each CPU is its own core on node 0.
        let host = FakeHost()
        host.write("/sys/devices/system/cpu/online", "0-2\n")
        let topology = CPUTopology.read(host.fs)
        XCTAssertEqual(topology.cpus.map(\.siblings), [[0], [1], [2]])
        XCTAssertEqual(topology.cpus.map(\.packageID), [-1, -1, -1])
        XCTAssertTrue(NUMATopology.read(host.fs).nodes.isEmpty)
    }

    func testLiveTopologyIsSelfConsistent() {
        let topology = CPUTopology.read()
        XCTAssertFalse(topology.online.isEmpty)
        XCTAssertEqual(topology.cpus.map(\.id), topology.online.sorted)
        for info in topology.cpus { XCTAssertTrue(info.siblings.contains(info.id)) }
        let numa = NUMATopology.read()
        let nodeCPUs = numa.nodes.reduce(CPUSet([])) { $0.union($1.cpus) }
        if !numa.nodes.isEmpty { XCTAssertEqual(nodeCPUs, topology.online) }
    }

    func testFileSystemRootResolution() {
        let host = FakeHost()
        host.write("/a/b", "x\n")
        XCTAssertEqual(host.fs.read("/a/b"), "x\n")
        XCTAssertEqual(host.fs.list("/a"), ["b"])
        XCTAssertNil(host.fs.read("/a/missing"))
        XCTAssertEqual(host.fs.list("/missing"), [])
        XCTAssertEqual(HostFileSystem.live.read("/proc/self/status")?.hasPrefix("Name:"), true)
    }
}
