// Pinning of the threads a workload starts itself (the `threads` baseline, hogs, probes), using
// TimesliceHost's resolver so that "compact" means the same CPUs here as in the runtime.
// Every pin is verified right after it is applied (sched_getaffinity + getcpu) and the
// observation goes into results.json: "requested" and "verified" are both reported because a
// cgroup or hotplug can make them differ.
import Synchronization
import TimesliceHost

public final class ThreadPinning: Sendable {
    /// The choice as written in the experiment (after numa_node folding).
    public let requested: PlacementChoice
    /// Resolved CPU sets; nil for `none`.
    public let plan: PlacementPlan?
    private let observations = Mutex<[PinObservation]>([])

    public init(requested: PlacementChoice, plan: PlacementPlan?) {
        self.requested = requested
        self.plan = plan
    }

    /// Resolves `choice` for `threads` threads against the live host. Throws `PlacementError`
    /// (its description names the CPUs that exist and are allowed) when it cannot be honoured.
    public static func resolve(_ choice: PlacementChoice, threads: Int, host: HostSnapshot) throws -> ThreadPinning {
        if choice == .none { return ThreadPinning(requested: choice, plan: nil) }
        let spec = PlacementSpec(workers: choice.policy)
        let plan = try PlacementResolver(host: host).resolve(spec, workers: threads)
        return ThreadPinning(requested: choice, plan: plan)
    }

    /// Pins the calling thread as worker `index` and records what the kernel then reports.
    /// A failure is recorded, not thrown: the run goes on and its placement shows as unverified.
    public func pinCurrentThread(worker index: Int) {
        guard let cpus = plan?.cpusForWorker(index) else { return }
        var obs = PinObservation(worker: index, requested: cpus.sorted)
        do {
            try Affinity.setCurrentThread(cpus)
            let now = try Affinity.current()
            obs.allowedAfter = now.sorted
            let where_ = Affinity.currentCPU()
            obs.observedCPU = where_.cpu
            obs.verified = now == cpus && cpus.contains(where_.cpu)
        } catch {
            obs.error = "\(error)"
        }
        observations.withLock { $0.append(obs) }
    }

    public func report() -> PlacementReport {
        let obs = observations.withLock { $0 }.sorted { $0.worker < $1.worker }
        return PlacementReport(
            requested: requested.json,
            workerCPUs: plan?.workerCPUs.map(\.sorted),
            verified: plan == nil ? nil : (!obs.isEmpty && obs.allSatisfy(\.verified)),
            threads: obs,
            warnings: plan?.warnings ?? [],
            note: nil)
    }
}

public struct PinObservation: Codable, Equatable, Sendable {
    public var worker: Int
    public var requested: [Int]
    public var allowedAfter: [Int]? = nil
    public var observedCPU: Int? = nil
    public var verified = false
    public var error: String? = nil

    enum CodingKeys: String, CodingKey {
        case worker, requested, allowedAfter = "allowed_after", observedCPU = "observed_cpu", verified, error
    }
}

/// results.json `placement`: what was asked, what it resolved to, and what was observed.
public struct PlacementReport: Codable, Equatable, Sendable {
    public var requested: JSONValue
    public var workerCPUs: [[Int]]?
    /// true: every pinned thread reported exactly its requested set; false: at least one did
    /// not; nil: nothing was pinned, or the runtime did the pinning and does not expose it.
    public var verified: Bool?
    public var threads: [PinObservation]
    public var warnings: [String]
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case requested, workerCPUs = "worker_cpus", verified, threads, warnings, note
    }

    public init(requested: JSONValue, workerCPUs: [[Int]]?, verified: Bool?, threads: [PinObservation],
                warnings: [String], note: String?) {
        self.requested = requested
        self.workerCPUs = workerCPUs
        self.verified = verified
        self.threads = threads
        self.warnings = warnings
        self.note = note
    }
}

extension PlacementChoice {
    /// The host layer's policy for this choice; the two enums have the same JSON.
    public var policy: PlacementPolicy {
        switch self {
        case .none: return .none
        case .compact: return .compact
        case .scatter: return .scatter
        case .isolated: return .isolated
        case .explicit(let cpus): return .explicit(cpus)
        case .numa(let n): return .numa(n)
        }
    }
}
