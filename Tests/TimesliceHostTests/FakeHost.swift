// Builds fake sysfs/procfs trees in a temporary directory so that topology,
// cgroup and placement code can be tested on shapes this 2-CPU machine is not.

import Foundation
import TimesliceHost

final class FakeHost {
    let root: String

    init() {
        root = NSTemporaryDirectory() + "timeslice-fakehost-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    var fs: HostFileSystem { HostFileSystem(root: root) }

    func write(_ path: String, _ contents: String) {
        let full = root + path
        let dir = (full as NSString).deletingLastPathComponent
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try! contents.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func mkdir(_ path: String) {
        try! FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true)
    }

    /// A machine of `sockets` × `cores` × `threads`, one NUMA node per socket,
    /// numbered as Linux numbers Intel parts: first thread 0 of every core of
    /// every socket, then thread 1 (so cpu c and c + sockets*cores are siblings).
    static func machine(sockets: Int, cores: Int, threads: Int, cmdline: String = "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet",
                        sysfsIsolated: String = "", memoryKBPerNode: Int = 16_777_216) -> FakeHost {
        let host = FakeHost()
        let perThread = sockets * cores
        let total = perThread * threads
        let cpuDir = "/sys/devices/system/cpu"
        host.write(cpuDir + "/online", total == 1 ? "0\n" : "0-\(total - 1)\n")
        host.write(cpuDir + "/possible", total == 1 ? "0\n" : "0-\(total - 1)\n")
        host.write(cpuDir + "/isolated", sysfsIsolated + "\n")
        host.write(cpuDir + "/smt/active", threads > 1 ? "1\n" : "0\n")
        var nodeCPUs: [[Int]] = Array(repeating: [], count: sockets)
        for cpu in 0..<total {
            let socket = (cpu % perThread) / cores
            let core = cpu % cores
            let siblings = (0..<threads).map { $0 * perThread + cpu % perThread }
            let base = "\(cpuDir)/cpu\(cpu)"
            host.write(base + "/topology/core_id", "\(core)\n")
            host.write(base + "/topology/physical_package_id", "\(socket)\n")
            host.write(base + "/topology/thread_siblings_list", CPUSet(siblings).listString + "\n")
            host.mkdir(base + "/node\(socket)")
            nodeCPUs[socket].append(cpu)
        }
        let nodeDir = "/sys/devices/system/node"
        host.write(nodeDir + "/online", sockets == 1 ? "0\n" : "0-\(sockets - 1)\n")
        for node in 0..<sockets {
            host.write("\(nodeDir)/node\(node)/cpulist", CPUSet(nodeCPUs[node]).listString + "\n")
            host.write("\(nodeDir)/node\(node)/meminfo", """
                Node \(node) MemTotal:       \(memoryKBPerNode) kB
                Node \(node) MemFree:        \(memoryKBPerNode / 2) kB

                """)
            host.write("\(nodeDir)/node\(node)/distance", (0..<sockets).map { $0 == node ? "10" : "21" }.joined(separator: " ") + "\n")
        }
        host.write("/proc/cmdline", cmdline + "\n")
        host.write("/proc/sys/kernel/osrelease", "6.1.0-fake\n")
        host.write("/proc/cpuinfo", (0..<total).map { "processor\t: \($0)\nmodel name\t: Fake Xeon 6000\nflags\t\t: fpu sse2 avx512f\n" }.joined(separator: "\n"))
        return host
    }

    /// The 2-socket × 4-core × 2-SMT test machine (16 CPUs, 2 nodes).
    static func twoSocket(cmdline: String = "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet", sysfsIsolated: String = "") -> FakeHost {
        machine(sockets: 2, cores: 4, threads: 2, cmdline: cmdline, sysfsIsolated: sysfsIsolated)
    }

    /// Like the machine this repo is developed on: 2 CPUs, 1 node, no SMT,
    /// a KVM guest, hybrid cgroup v1 with no quota.
    static func realLike() -> FakeHost {
        let host = machine(sockets: 1, cores: 2, threads: 1,
                           cmdline: "console=ttyS0 quiet reboot=k panic=1 -- --firecracker-init",
                           memoryKBPerNode: 5_335_256)
        host.write("/proc/cpuinfo", """
            processor\t: 0
            model name\t: AMD EPYC
            flags\t\t: fpu sse2 hypervisor

            processor\t: 1
            model name\t: AMD EPYC
            flags\t\t: fpu sse2 hypervisor

            """)
        host.write("/proc/self/cgroup", "4:memory:/process_api\n3:cpuset:/\n1:cpu:/\n0::/\n")
        host.write("/proc/self/mountinfo", """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

            """)
        host.write("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n")
        host.write("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n")
        host.write("/sys/fs/cgroup/cpuset/cpuset.effective_cpus", "0-1\n")
        host.write("/sys/fs/cgroup/unified/cgroup.procs", "1\n")
        return host
    }

    /// Adds a cgroup v2 membership at `path` with the given cpu.max / cpuset.
    func addCgroupV2(path: String = "/user.slice/app", cpuMax: String?, cpuset: String?) {
        write("/proc/self/cgroup", "0::\(path)\n")
        write("/proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")
        if let cpuMax { write("/sys/fs/cgroup\(path)/cpu.max", cpuMax + "\n") }
        if let cpuset { write("/sys/fs/cgroup\(path)/cpuset.cpus.effective", cpuset + "\n") }
        mkdir("/sys/fs/cgroup\(path)")
    }
}
