// The facts placement is resolved against, captured once so that resolution
// is a pure function (and testable against fake hosts).

/// Topology, limits and isolation of a host at one moment.
public struct HostSnapshot: Codable, Equatable, Sendable {
    public var topology: CPUTopology
    public var numa: NUMATopology
    public var cgroup: CgroupLimits
    public var isolation: KernelIsolation
    /// CPUs this process may use: affinity ∩ cgroup cpuset ∩ online.
    public var allowed: CPUSet

    public init(topology: CPUTopology, numa: NUMATopology, cgroup: CgroupLimits,
                isolation: KernelIsolation, allowed: CPUSet) {
        self.topology = topology
        self.numa = numa
        self.cgroup = cgroup
        self.isolation = isolation
        self.allowed = allowed
    }

    /// Reads the host under `fs`. `allowed` overrides the affinity mask; when
    /// nil it is the calling thread's sched_getaffinity on the live host, and
    /// every online CPU for a fake tree (there is no kernel to ask about it).
    /// Either way it is then limited to the cgroup cpuset and online CPUs.
    public static func capture(_ fs: HostFileSystem = .live, allowed: CPUSet? = nil) -> HostSnapshot {
        let topology = CPUTopology.read(fs)
        let cgroup = CgroupLimits.read(fs)
        return HostSnapshot(
            topology: topology,
            numa: NUMATopology.read(fs),
            cgroup: cgroup,
            isolation: KernelIsolation.read(fs),
            allowed: allowedCPUs(fs, topology: topology, cgroup: cgroup, override: allowed))
    }

    /// Isolated CPUs this process may pin to: online and inside the cgroup cpuset. The
    /// affinity mask does not limit them: with isolcpus the kernel leaves the isolated
    /// CPUs out of init's mask, which every process inherits, yet sched_setaffinity onto
    /// them is allowed (moving work there is what isolcpus is for). Seen in a guest booted
    /// with isolcpus=2,3: every process starts with affinity 0-1.
    public var reachableIsolated: CPUSet {
        let permitted = cgroup.cpuset.map { topology.online.intersection($0) } ?? topology.online
        return isolation.isolated.intersection(permitted)
    }

    static func allowedCPUs(_ fs: HostFileSystem, topology: CPUTopology, cgroup: CgroupLimits, override: CPUSet?) -> CPUSet {
        var allowed = override ?? (fs.isLive ? (try? Affinity.current()) : nil) ?? topology.online
        if let cpuset = cgroup.cpuset { allowed = allowed.intersection(cpuset) }
        return allowed.intersection(topology.online)
    }
}
