// NUMA nodes from /sys/devices/system/node: which CPUs and how much memory
// each has, and the distance table the scheduler uses to prefer near victims.

/// One NUMA node.
public struct NUMANode: Codable, Equatable, Hashable, Sendable {
    public var id: Int
    /// Online CPUs of the node (nodeN/cpulist); empty for memory-only nodes.
    public var cpus: CPUSet
    /// MemTotal of the node (nodeN/meminfo), nil when not exposed.
    public var memoryBytes: UInt64?
    /// SLIT distances to every node, in node order (nodeN/distance); 10 = local.
    /// Empty when not exposed.
    public var distances: [Int]

    public init(id: Int, cpus: CPUSet, memoryBytes: UInt64?, distances: [Int] = []) {
        self.id = id
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.distances = distances
    }
}

/// All NUMA nodes of the host. Empty when the kernel was built without NUMA
/// (no /sys/devices/system/node): then no node can be asked for by id.
public struct NUMATopology: Codable, Equatable, Sendable {
    public var nodes: [NUMANode]

    public init(nodes: [NUMANode]) {
        self.nodes = nodes.sorted { $0.id < $1.id }
    }

    public func node(_ id: Int) -> NUMANode? { nodes.first { $0.id == id } }

    /// Node ids as a list string ("0-1"), for messages.
    public var nodeIDs: CPUSet { CPUSet(nodes.map(\.id)) }

    static let nodeDir = "/sys/devices/system/node"

    public static func read(_ fs: HostFileSystem = .live) -> NUMATopology {
        // "online" lists nodes that exist; fall back to the nodeN directories.
        let ids = fs.readCPUSet(nodeDir + "/online").map(\.sorted)
            ?? fs.numberedEntries(nodeDir, prefix: "node")
        let nodes = ids.map { id -> NUMANode in
            let base = "\(nodeDir)/node\(id)"
            let distances = (fs.readTrimmed(base + "/distance") ?? "")
                .split(separator: " ").compactMap { Int($0) }
            return NUMANode(
                id: id,
                cpus: fs.readCPUSet(base + "/cpulist") ?? CPUSet([]),
                memoryBytes: fs.read(base + "/meminfo").flatMap(memTotal),
                distances: distances)
        }
        return NUMATopology(nodes: nodes)
    }

    /// "Node 0 MemTotal:  5335256 kB" → bytes.
    static func memTotal(_ meminfo: String) -> UInt64? {
        for line in meminfo.split(separator: "\n") where line.contains("MemTotal:") {
            let fields = line.split(separator: " ")
            guard let index = fields.firstIndex(of: "MemTotal:"), index + 1 < fields.count,
                  let value = UInt64(fields[index + 1]) else { return nil }
            let unit = index + 2 < fields.count ? fields[index + 2].lowercased() : ""
            return unit == "kb" ? value * 1024 : value
        }
        return nil
    }
}
