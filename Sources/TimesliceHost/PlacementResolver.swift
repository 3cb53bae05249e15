// Turns a PlacementSpec into concrete CPU sets for a given host, or a
// PlacementError that names what exists. Pure: no syscalls, so every layout
// and message is tested against fake topologies.
//
// Orders (one CPU per M, M i takes the i-th CPU, wrapping):
//   compact: sort allowed CPUs by (node, package, core, thread) — a core's SMT
//            threads are adjacent, cores of one package/node come together.
//   scatter: sort by (thread rank in its core, core rank in its domain,
//            domain), where a domain is a (node, package) pair: one thread per
//            domain round-robin, then the next core, SMT siblings last.
// Ranks count only allowed CPUs, so a cpuset that removes thread 0 of a core
// still lets thread 1 stand in for the core.
//
// sysmon and main are single threads: compact/scatter/isolated give them the
// first CPU of that order, explicit the whole listed set, numa the node's set.

public struct PlacementResolver {
    public let host: HostSnapshot

    public init(host: HostSnapshot) {
        self.host = host
    }

    public func resolve(_ spec: PlacementSpec, workers: Int) throws -> PlacementPlan {
        guard workers >= 0 else {
            throw PlacementError("worker count must not be negative (got \(workers))")
        }
        var warnings: [String] = []
        var workerCPUs: [CPUSet] = []
        if let perM = try cpuSets(for: spec.workers, role: "workers") {
            let distinct = Set(perM).count
            if spec.workers.isOnePerM, workers > distinct {
                warnings.append("\(workers) workers but only \(distinct) CPU\(distinct == 1 ? "" : "s") in the \(spec.workers) placement: workers wrap around and share CPUs")
            }
            workerCPUs = (0..<workers).map { perM[$0 % perM.count] }
        }
        let sysmon = try cpuSets(for: spec.sysmon, role: "sysmon").map { singleThread($0, spec.sysmon) }
        let main = try cpuSets(for: spec.main, role: "main").map { singleThread($0, spec.main) }
        return PlacementPlan(workerCPUs: workerCPUs, sysmonCPUs: sysmon, mainCPUs: main,
                             warnings: warnings, spec: spec, workerCount: workers)
    }

    /// The sequence of CPU sets a policy hands out (M i gets element i % count),
    /// or nil for `none`.
    func cpuSets(for policy: PlacementPolicy, role: String) throws -> [CPUSet]? {
        switch policy {
        case .none:
            return nil
        case .compact:
            return try nonEmpty(compactOrder(), policy: policy).map { CPUSet([$0]) }
        case .scatter:
            return try nonEmpty(scatterOrder(), policy: policy).map { CPUSet([$0]) }
        case .explicit(let cpus):
            guard !cpus.isEmpty else {
                throw PlacementError("explicit placement for \(role) lists no CPUs (online: \(show(host.topology.online)); allowed: \(show(host.allowed)))")
            }
            for cpu in cpus {
                if !host.topology.online.contains(cpu) {
                    throw PlacementError("CPU \(cpu) does not exist (\(context()))")
                }
                if !host.allowed.contains(cpu) && !host.reachableIsolated.contains(cpu) {
                    throw PlacementError("CPU \(cpu) is not allowed by the cpuset/affinity of this process (\(context()))")
                }
            }
            return cpus.map { CPUSet([$0]) }
        case .isolated:
            let isolated = host.isolation.isolated
            let usable = host.reachableIsolated
            if usable.isEmpty {
                if isolated.isEmpty {
                    throw PlacementError(noIsolatedCPUsMessage())
                }
                throw PlacementError("the isolated CPUs \(show(isolated)) are not allowed by the cgroup cpuset of this process (\(context()))")
            }
            return usable.map { CPUSet([$0]) }
        case .numa(let id):
            guard let node = host.numa.node(id) else {
                throw PlacementError("NUMA node \(id) does not exist (nodes: \(show(host.numa.nodeIDs)))")
            }
            let usable = node.cpus.intersection(host.allowed)
            guard !usable.isEmpty else {
                throw PlacementError("NUMA node \(id) has no allowed CPUs (node \(id): \(show(node.cpus)); allowed: \(show(host.allowed)))")
            }
            return [usable]
        }
    }

    /// sysmon and main are one thread each; see the file comment.
    private func singleThread(_ sets: [CPUSet], _ policy: PlacementPolicy) -> CPUSet {
        switch policy {
        case .explicit: return sets.reduce(CPUSet([])) { $0.union($1) }
        default: return sets[0]
        }
    }

    private func nonEmpty(_ order: [Int], policy: PlacementPolicy) throws -> [Int] {
        guard !order.isEmpty else {
            throw PlacementError("no CPUs are allowed for \(policy) placement (\(context()))")
        }
        return order
    }

    /// Allowed CPUs in compact order.
    public func compactOrder() -> [Int] {
        let ranks = threadRanks()
        return allowedInfos().sorted {
            ($0.nodeID, $0.packageID, $0.coreID, ranks[$0.id] ?? 0, $0.id)
                < ($1.nodeID, $1.packageID, $1.coreID, ranks[$1.id] ?? 0, $1.id)
        }.map(\.id)
    }

    /// Allowed CPUs in scatter order.
    public func scatterOrder() -> [Int] {
        let infos = allowedInfos()
        let threadRank = threadRanks()
        // Domains (node, package) in ascending order.
        let domains = Array(Set(infos.map { Pair($0.nodeID, $0.packageID) })).sorted()
        let domainIndex = Dictionary(uniqueKeysWithValues: domains.enumerated().map { ($1, $0) })
        // Core rank within its domain, over cores that have an allowed CPU.
        var coreRank: [Int: Int] = [:]
        for domain in domains {
            let cores = Set(infos.filter { Pair($0.nodeID, $0.packageID) == domain }.map(\.coreID)).sorted()
            let rankOfCore = Dictionary(uniqueKeysWithValues: cores.enumerated().map { ($1, $0) })
            for info in infos where Pair(info.nodeID, info.packageID) == domain {
                coreRank[info.id] = rankOfCore[info.coreID]
            }
        }
        func key(_ info: CPUInfo) -> (Int, Int, Int, Int) {
            (threadRank[info.id] ?? 0, coreRank[info.id] ?? 0, domainIndex[Pair(info.nodeID, info.packageID)] ?? 0, info.id)
        }
        return infos.sorted { key($0) < key($1) }.map(\.id)
    }

    private func allowedInfos() -> [CPUInfo] {
        host.topology.cpus.filter { host.allowed.contains($0.id) }
    }

    /// Rank of each allowed CPU among the allowed SMT threads of its core.
    private func threadRanks() -> [Int: Int] {
        var ranks: [Int: Int] = [:]
        for info in allowedInfos() {
            let allowedSiblings = info.siblings.union(CPUSet([info.id])).intersection(host.allowed)
            ranks[info.id] = allowedSiblings.sorted.firstIndex(of: info.id) ?? 0
        }
        return ranks
    }

    private func show(_ set: CPUSet) -> String { set.isEmpty ? "none" : set.listString }

    /// "online: 0-3; allowed: 0,2-3" plus the isolated set when there is one.
    private func context() -> String {
        var text = "online: \(show(host.topology.online)); allowed: \(show(host.allowed))"
        let isolated = host.isolation.isolated
        if !isolated.isEmpty { text += "; isolated: \(isolated.listString)" }
        return text
    }

    private func noIsolatedCPUsMessage() -> String {
        // Suggest isolating everything but the first allowed CPU, which stays
        // for housekeeping (main thread, sysmon, interrupts).
        let candidates = host.allowed.count > 1 ? CPUSet(host.allowed.sorted.dropFirst()) : host.allowed
        let list = candidates.isEmpty ? "1" : candidates.listString
        return "no CPUs are isolated on this host (isolcpus= and /sys/devices/system/cpu/isolated are empty; \(context())): "
            + "boot the kernel with isolcpus=domain,managed_irq,\(list) nohz_full=\(list) rcu_nocbs=\(list) to isolate CPU\(candidates.count == 1 ? "" : "s") \(list), or use another placement policy"
    }
}

/// A hashable, comparable (node, package) pair.
private struct Pair: Hashable, Comparable {
    let node: Int
    let package: Int
    init(_ node: Int, _ package: Int) {
        self.node = node
        self.package = package
    }
    static func < (a: Pair, b: Pair) -> Bool { (a.node, a.package) < (b.node, b.package) }
}

extension PlacementPolicy {
    /// Policies that give each M a single CPU (and so can oversubscribe).
    var isOnePerM: Bool {
        switch self {
        case .compact, .scatter, .explicit, .isolated: return true
        case .none, .numa: return false
        }
    }
}
