// Placement per M (docs/ARCHITECTURE.md, "Layers"): the plan is resolved once, before
// any thread starts, so an impossible request fails with the resolver's message
// (which names the CPUs that exist, are allowed and are isolated). Each M pins
// itself with sched_setaffinity as it starts, then verifies with
// sched_getaffinity and getcpu; sysmon and the main thread likewise.
import CTimeslice
import Glibc
import TimesliceHost

/// What one thread asked for and what the kernel reports it got.
public struct AppliedPlacement: Codable, Sendable, Equatable {
    /// "M0", "M1", ..., "sysmon" or "main".
    public var thread: String
    public var requested: CPUSet?
    /// sched_getaffinity after applying; nil when nothing was requested.
    public var verified: CPUSet?
    /// The CPU getcpu reported right after pinning.
    public var observedCPU: Int
    public var error: String?
}

final class PlacementState {
    let plan: PlacementPlan?
    let numa: NUMATopology
    /// NUMA node of each worker index's CPU set, when the set lies within one node.
    private let workerNodes: [Int?]
    private let lock = RuntimeLock()
    @exclusivity(unchecked) private var applied: [AppliedPlacement] = []   // guarded by lock

    /// Resolves `spec` for `workers` Ps among `allowed` CPUs (nil: the calling thread's
    /// affinity ∩ cpuset; RuntimeConfiguration.placementCPUs); nil plan when nothing is pinned.
    init(spec: PlacementSpec, workers: Int, allowed: CPUSet? = nil) throws {
        let resolved: PlacementPlan?
        let topology: NUMATopology
        if spec == PlacementSpec() {
            resolved = nil
            topology = NUMATopology.read()
        } else {
            let host = HostSnapshot.capture(allowed: allowed)
            resolved = try PlacementResolver(host: host).resolve(spec, workers: workers)
            topology = host.numa
        }
        plan = resolved
        numa = topology
        workerNodes = (0..<max(workers, 1)).map { i in
            guard let cpus = resolved?.cpusForWorker(i), !cpus.isEmpty else { return nil }
            return topology.nodes.first { cpus.isSubset(of: $0.cpus) }?.id
        }
    }

    /// The NUMA node worker `index` (M or P index) is confined to, or nil.
    func node(ofWorker index: Int) -> Int? {
        workerNodes.isEmpty ? nil : workerNodes[index % workerNodes.count]
    }

    /// More than one node and some worker confined to one: placement matters.
    var isNUMAAware: Bool { numa.nodes.count > 1 && workerNodes.contains { $0 != nil } }

    /// Pins the calling thread to `cpus` (if any) and records the outcome.
    func apply(_ cpus: CPUSet?, thread: String) {
        var record = AppliedPlacement(thread: thread, requested: cpus, verified: nil,
                                      observedCPU: Affinity.currentCPU().cpu, error: nil)
        if let cpus {
            do {
                try Affinity.setCurrentThread(cpus)
                record.verified = try Affinity.current()
                record.observedCPU = Affinity.currentCPU().cpu
                if record.verified != cpus {
                    record.error = "kernel reports affinity \(record.verified!.listString), asked \(cpus.listString)"
                } else if !cpus.contains(record.observedCPU) {
                    record.error = "running on CPU \(record.observedCPU), outside \(cpus.listString)"
                }
            } catch {
                record.error = "\(error)"
            }
        }
        lock.withLock { applied.append(record) }
    }

    func report() -> [AppliedPlacement] { lock.withLock { applied } }
}
