// CPU affinity of threads and where a thread is running right now: the
// primitives placement is applied and verified with.

import CTimeslice

public enum Affinity {
    /// CPUs the calling thread may run on (sched_getaffinity(0)); the kernel
    /// already intersects it with the cgroup cpuset.
    public static func current() throws -> CPUSet {
        try get(tid: 0)
    }

    /// CPUs thread `tid` may run on (0 = the calling thread).
    public static func get(tid: Int32) throws -> CPUSet {
        var capacity = 256
        while true {
            var cpus = [Int32](repeating: 0, count: capacity)
            var count: Int32 = 0
            let rc = cpus.withUnsafeMutableBufferPointer {
                ts_sched_getaffinity(tid, $0.baseAddress, Int32($0.count), &count)
            }
            try HostSyscallError.check("sched_getaffinity", rc, detail: "tid \(tid)")
            if Int(count) <= capacity { return CPUSet(cpus.prefix(Int(count)).map(Int.init)) }
            capacity = Int(count)
        }
    }

    /// Restricts the calling thread to `cpus` (sched_setaffinity(0)).
    public static func setCurrentThread(_ cpus: CPUSet) throws {
        try set(cpus, tid: 0)
    }

    /// Restricts thread `tid` (0 = the calling thread) to `cpus`. An empty set
    /// or CPUs outside the cpuset fail with EINVAL from the kernel.
    public static func set(_ cpus: CPUSet, tid: Int32) throws {
        let ids = cpus.sorted.map(Int32.init)
        let rc = ids.withUnsafeBufferPointer { ts_sched_setaffinity(tid, $0.baseAddress, Int32($0.count)) }
        try HostSyscallError.check("sched_setaffinity", rc, detail: "tid \(tid), cpus \(cpus.isEmpty ? "none" : cpus.listString)")
    }

    /// CPU and NUMA node the calling thread is running on (getcpu(2)). Only a
    /// sample: the thread may migrate right after, unless it is pinned to one
    /// CPU. getcpu cannot fail with valid pointers; should it, (-1, -1) is returned.
    public static func currentCPU() -> (cpu: Int, node: Int) {
        var cpu: UInt32 = 0
        var node: UInt32 = 0
        guard ts_getcpu(&cpu, &node) == 0 else { return (-1, -1) }
        return (Int(cpu), Int(node))
    }

    /// Kernel thread id of the calling thread, for set(_:tid:) from another thread.
    public static func currentThreadID() -> Int32 {
        ts_host_gettid()
    }
}
