// The resolved placement: concrete CPU sets per thread, computed before any
// thread starts so that an impossible request fails up front.

/// CPU sets for each thread role; nil / empty means "do not touch affinity".
public struct PlacementPlan: Codable, Equatable, Sendable {
    /// CPU set of M i is workerCPUs[i % workerCPUs.count]; empty for `none`.
    public var workerCPUs: [CPUSet]
    /// CPU set for sysmon; nil to leave it unpinned.
    public var sysmonCPUs: CPUSet?
    /// CPU set for the main thread; nil to leave it unpinned.
    public var mainCPUs: CPUSet?
    /// Things the request resolved to that the user may not expect (wrap-around).
    public var warnings: [String]
    /// The request this plan was resolved from, for "requested vs verified" reports.
    public var spec: PlacementSpec
    /// Number of workers the plan was resolved for.
    public var workerCount: Int

    public init(workerCPUs: [CPUSet] = [], sysmonCPUs: CPUSet? = nil, mainCPUs: CPUSet? = nil,
                warnings: [String] = [], spec: PlacementSpec = PlacementSpec(), workerCount: Int? = nil) {
        self.workerCPUs = workerCPUs
        self.sysmonCPUs = sysmonCPUs
        self.mainCPUs = mainCPUs
        self.warnings = warnings
        self.spec = spec
        self.workerCount = workerCount ?? workerCPUs.count
    }

    /// The CPU set for M `index`, or nil when workers are not pinned.
    public func cpusForWorker(_ index: Int) -> CPUSet? {
        guard !workerCPUs.isEmpty, index >= 0 else { return nil }
        return workerCPUs[index % workerCPUs.count]
    }

    /// Union of every worker's CPUs.
    public var allWorkerCPUs: CPUSet {
        workerCPUs.reduce(CPUSet([])) { $0.union($1) }
    }
}

/// A placement request the host cannot honour. The message names what exists
/// and what is allowed so the user can fix the request without reading sysfs.
public struct PlacementError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}
