// Logical CPUs and how they nest (SMT thread → core → package → NUMA node),
// read from /sys/devices/system/cpu. Placement policies are defined in these
// terms, so the resolver never looks at sysfs itself.

/// One online logical CPU.
public struct CPUInfo: Codable, Equatable, Hashable, Sendable {
    /// Logical CPU id (the N of cpuN).
    public var id: Int
    /// Core id; unique only within its package (topology/core_id).
    public var coreID: Int
    /// Socket (topology/physical_package_id); -1 when the kernel does not know.
    public var packageID: Int
    /// NUMA node the CPU belongs to.
    public var nodeID: Int
    /// CPUs sharing this CPU's core, itself included (topology/thread_siblings_list).
    public var siblings: CPUSet

    public init(id: Int, coreID: Int, packageID: Int, nodeID: Int, siblings: CPUSet) {
        self.id = id
        self.coreID = coreID
        self.packageID = packageID
        self.nodeID = nodeID
        self.siblings = siblings
    }
}

/// The online CPUs of the host and their nesting.
public struct CPUTopology: Codable, Equatable, Sendable {
    /// CPUs the kernel has online (/sys/devices/system/cpu/online).
    public var online: CPUSet
    /// One entry per online CPU, ascending by id.
    public var cpus: [CPUInfo]

    public init(online: CPUSet, cpus: [CPUInfo]) {
        self.online = online
        self.cpus = cpus.sorted { $0.id < $1.id }
    }

    public func info(_ cpu: Int) -> CPUInfo? {
        // cpus is sorted by id and usually dense, so try the direct slot first.
        if cpu >= 0 && cpu < cpus.count && cpus[cpu].id == cpu { return cpus[cpu] }
        return cpus.first { $0.id == cpu }
    }

    /// SMT siblings of `cpu`, itself excluded; empty when unknown or no SMT.
    public func smtSiblings(of cpu: Int) -> CPUSet {
        guard let info = info(cpu) else { return CPUSet([]) }
        return info.siblings.subtracting(CPUSet([cpu]))
    }

    /// True when some online core runs more than one hardware thread.
    public var hasSMT: Bool { cpus.contains { $0.siblings.count > 1 } }

    static let cpuDir = "/sys/devices/system/cpu"

    /// Reads the topology. Facts a kernel does not expose are filled with the
    /// only reading consistent with it: a CPU without topology files is its own
    /// core (siblings = itself, coreID = its id) in package -1, and a CPU with
    /// no node link sits on node 0, the node every non-NUMA kernel reports.
    public static func read(_ fs: HostFileSystem = .live) -> CPUTopology {
        let online = fs.readCPUSet(cpuDir + "/online")
            ?? CPUSet(fs.numberedEntries(cpuDir, prefix: "cpu"))
        let nodeOfCPU = nodeMap(fs)
        let infos = online.map { cpu -> CPUInfo in
            let base = "\(cpuDir)/cpu\(cpu)"
            let siblings = fs.readCPUSet(base + "/topology/thread_siblings_list")
                ?? fs.readCPUSet(base + "/topology/core_cpus_list")
                ?? CPUSet([cpu])
            let linkedNode = fs.numberedEntries(base, prefix: "node").first
            return CPUInfo(
                id: cpu,
                coreID: fs.readInt(base + "/topology/core_id") ?? cpu,
                packageID: fs.readInt(base + "/topology/physical_package_id") ?? -1,
                nodeID: linkedNode ?? nodeOfCPU[cpu] ?? 0,
                siblings: siblings.isEmpty ? CPUSet([cpu]) : siblings)
        }
        return CPUTopology(online: online, cpus: infos)
    }

    /// cpu → node from the node directories, for kernels (or fake trees) where
    /// cpuN has no nodeM link.
    private static func nodeMap(_ fs: HostFileSystem) -> [Int: Int] {
        var map: [Int: Int] = [:]
        for node in fs.numberedEntries(NUMATopology.nodeDir, prefix: "node") {
            for cpu in fs.readCPUSet("\(NUMATopology.nodeDir)/node\(node)/cpulist") ?? CPUSet([]) {
                map[cpu] = node
            }
        }
        return map
    }
}
