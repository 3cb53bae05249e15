// One point of an experiment's matrix: the runtime variant and every runtime knob.
//
// Invariant: after `normalized()`, an axis that does not apply to the point's runtime is nil
// (e.g. `preemption` for plain OS threads), so that two points differing only in such an axis
// are equal, get the same id and are measured once. A workload may make an axis apply to a
// runtime that otherwise ignores it (WorkloadKind.extraAxes: the server workload confines the
// threads and swift-nio servers to `max_procs` CPUs); such a value is kept and shown when set.
import Timeslice
import TimesliceHost

/// Which implementation runs the workload. `threads`, `swift-concurrency` and `go` are the
/// baselines of issue 7; they share the result schema with `timeslice`. `cyclictest` (rt-tests)
/// runs only the wakeup probe, as a cross-check of the `threads` probe's numbers.
public enum RuntimeKind: String, Codable, CaseIterable, Sendable, Hashable {
    case timeslice
    case threads
    case swiftConcurrency = "swift-concurrency"
    /// SwiftNIO's MultiThreadedEventLoopGroup (server workload only).
    case swiftNIO = "swift-nio"
    case go
    case cyclictest
}

/// The runtime's own preemption modes: one definition, one encoding (their raw values are the
/// experiment files' words).
public typealias PreemptionSetting = PreemptionMode

/// Placement as written in experiment files. Its JSON is the same as `TimesliceHost.PlacementPolicy`:
/// "none" | "compact" | "scatter" | "isolated" | {"explicit":[0,1]} | {"numa":0}.
public enum PlacementChoice: Hashable, Sendable {
    case none, compact, scatter, isolated
    case explicit([Int])
    case numa(Int)

    public static let names = ["none", "compact", "scatter", "isolated", "{\"explicit\":[cpus]}", "{\"numa\":node}"]

    /// Canonical short text used in configuration ids.
    public var idText: String {
        switch self {
        case .none: return "none"
        case .compact: return "compact"
        case .scatter: return "scatter"
        case .isolated: return "isolated"
        case .explicit(let cpus): return "cpus" + cpus.map(String.init).joined(separator: "+")
        case .numa(let n): return "numa\(n)"
        }
    }

    public var json: JSONValue {
        switch self {
        case .none: return .string("none")
        case .compact: return .string("compact")
        case .scatter: return .string("scatter")
        case .isolated: return .string("isolated")
        case .explicit(let cpus): return .object(["explicit": .array(cpus.map { .integer(Int64($0)) })])
        case .numa(let n): return .object(["numa": .integer(Int64(n))])
        }
    }
}

extension PlacementChoice: Codable {
    public init(from decoder: Decoder) throws {
        self = try SpecDecoder.placement(try JSONValue(from: decoder), at: .root)
    }

    public func encode(to encoder: Encoder) throws { try json.encode(to: encoder) }
}

/// Where the timeslice runtime's sysmon runs (the `sysmon` axis; timeslice only). sysmon sends
/// the preemption signals, so where it runs decides whether a slice's end is noticed on time:
/// sharing the workers' CPUs it waits, like any thread, for the kernel to let it run, which a
/// worker burning a long request delays (Linux does not always preempt the running thread for
/// a waking one). Shinjuku gives its dispatcher a core of its own; `apart` does the same.
public enum SysmonPlacementChoice: String, CaseIterable, Sendable, Hashable, Codable {
    /// Wherever the workers may run (it inherits their confinement): the runtime's default.
    case withWorkers = "with-workers"
    /// On a usable CPU that no worker uses (RuntimeBridge.sysmonCPU): preferably one nothing
    /// else of the experiment uses either, else the load generator's (and the result says so).
    case apart
}

/// The axes of the matrix, in the order they appear in ids and tables.
public enum MatrixAxis: String, CaseIterable, Sendable {
    case runtime
    case maxProcs = "max_procs"
    case preemption
    case timeSlice = "time_slice"
    case placement
    case lockOSThread = "lock_os_thread"
    case numaNode = "numa_node"
    /// Overrides the wakeup workload's `hogs`: `[0, 1]` puts an idle baseline row (same probe,
    /// no competing load) beside each loaded row in the same sweep.
    case hogs
    /// Overrides the server workload's offered `rate` (OfferedRate): a load sweep.
    case rate
    /// Where sysmon runs (SysmonPlacementChoice); timeslice only.
    case sysmon

    /// The key used in configuration ids: short, so that ids stay readable.
    var idKey: String {
        switch self {
        case .runtime: return "rt"
        case .maxProcs: return "procs"
        case .preemption: return "preempt"
        case .timeSlice: return "slice"
        case .placement: return "place"
        case .lockOSThread: return "lock"
        case .numaNode: return "numa"
        case .hogs: return "hogs"
        case .rate: return "rate"
        case .sysmon: return "sysmon"
        }
    }
}

public struct MatrixPoint: Hashable, Sendable {
    public var runtime: RuntimeKind
    /// nil: the runtime's default (affinity ∩ cgroup quota), or not applicable.
    public var maxProcs: Int?
    public var preemption: PreemptionSetting?
    public var timeSliceNanoseconds: UInt64?
    public var placement: PlacementChoice
    public var lockOSThread: Bool?
    /// nil: no NUMA restriction. A node is a shorthand for placement {"numa": node}.
    public var numaNode: Int?
    /// nil: the workload's own `hogs`; otherwise overrides it (wakeup workloads).
    public var hogs: Int?
    /// nil: the workload's own `rate`; otherwise overrides it (server workloads).
    public var rate: OfferedRate?
    /// nil: not set (sysmon beside the workers, and no `sysmon` in the id).
    public var sysmon: SysmonPlacementChoice?

    public init(runtime: RuntimeKind, maxProcs: Int? = nil, preemption: PreemptionSetting? = RuntimeConfiguration.defaultPreemption,
                timeSliceNanoseconds: UInt64? = RuntimeConfiguration.defaultTimeSliceNanoseconds, placement: PlacementChoice = .none,
                lockOSThread: Bool? = false, numaNode: Int? = nil, hogs: Int? = nil, rate: OfferedRate? = nil,
                sysmon: SysmonPlacementChoice? = nil) {
        self.runtime = runtime
        self.maxProcs = maxProcs
        self.preemption = preemption
        self.timeSliceNanoseconds = timeSliceNanoseconds
        self.placement = placement
        self.lockOSThread = lockOSThread
        self.numaNode = numaNode
        self.hogs = hogs
        self.rate = rate
        self.sysmon = sysmon
    }

    /// The axes that mean something for `runtime`. Go has GOMAXPROCS, asyncpreemptoff and
    /// LockOSThread but a fixed 10 ms slice; threads and Swift concurrency have none of the knobs.
    public static func applicable(_ runtime: RuntimeKind) -> Set<MatrixAxis> {
        switch runtime {
        case .timeslice: return Set(MatrixAxis.allCases)
        case .go: return [.runtime, .maxProcs, .preemption, .placement, .lockOSThread, .numaNode, .hogs, .rate]
        case .threads: return [.runtime, .placement, .numaNode, .hogs, .rate]
        case .swiftNIO: return [.runtime, .placement, .numaNode, .rate]
        case .swiftConcurrency: return [.runtime, .placement, .numaNode, .hogs]
        case .cyclictest: return [.runtime, .placement, .numaNode, .hogs]
        }
    }

    /// `extra`: axes the workload makes apply to this runtime beyond `applicable` (WorkloadKind.extraAxes).
    public func normalized(keeping extra: Set<MatrixAxis> = []) -> MatrixPoint {
        var p = self
        let keep = Self.applicable(runtime).union(extra)
        if !keep.contains(.maxProcs) { p.maxProcs = nil }
        if !keep.contains(.preemption) { p.preemption = nil }
        if !keep.contains(.timeSlice) { p.timeSliceNanoseconds = nil }
        if !keep.contains(.lockOSThread) { p.lockOSThread = nil }
        if !keep.contains(.sysmon) { p.sysmon = nil }
        return p
    }

    /// The canonical text of one axis value; nil when the axis does not apply. Used both for
    /// ids and for matching `include`/`exclude` entries, so equal text means equal value.
    public func text(_ axis: MatrixAxis) -> String? {
        switch axis {
        case .runtime: return runtime.rawValue
        case .maxProcs:
            // Kept by normalized(keeping:) only where the workload honours it: shown when set.
            guard MatrixPoint.applicable(runtime).contains(.maxProcs) else { return maxProcs.map(String.init) }
            return maxProcs.map(String.init) ?? "default"
        case .preemption: return preemption?.rawValue
        case .timeSlice: return timeSliceNanoseconds.map(DurationText.render)
        case .placement: return placement.idText
        case .lockOSThread: return lockOSThread.map { $0 ? "true" : "false" }
        case .numaNode: return numaNode.map(String.init)
        case .hogs: return hogs.map(String.init)
        case .rate: return rate?.text
        case .sysmon: return sysmon?.rawValue
        }
    }

    /// e.g. `rt=timeslice,procs=1,preempt=async,slice=100us,place=none,lock=false`.
    /// Axes that do not apply are left out; `numa` only appears when set.
    public var id: String {
        MatrixAxis.allCases.compactMap { axis in text(axis).map { "\(axis.idKey)=\($0)" } }
            .joined(separator: ",")
    }

    /// The placement actually requested: a NUMA node turns into {"numa": node}.
    public var effectivePlacement: PlacementChoice {
        if let numaNode { return .numa(numaNode) }
        return placement
    }
}

/// Encoded with the axis names and value formats of experiment files; axes that do not apply
/// to the runtime are left out, and max_procs is "default" when the runtime chooses.
extension MatrixPoint: Codable {
    public var json: JSONValue {
        var o: [String: JSONValue] = ["runtime": .string(runtime.rawValue), "placement": placement.json]
        if let maxProcs {
            o["max_procs"] = .integer(Int64(maxProcs))
        } else if MatrixPoint.applicable(runtime).contains(.maxProcs) {
            o["max_procs"] = .string("default")
        }
        if let preemption { o["preemption"] = .string(preemption.rawValue) }
        if let timeSliceNanoseconds { o["time_slice"] = .string(DurationText.render(timeSliceNanoseconds)) }
        if let lockOSThread { o["lock_os_thread"] = .bool(lockOSThread) }
        if let numaNode { o["numa_node"] = .integer(Int64(numaNode)) }
        if let hogs { o["hogs"] = .integer(Int64(hogs)) }
        if let rate { o["rate"] = rate.json }
        if let sysmon { o["sysmon"] = .string(sysmon.rawValue) }
        return .object(o)
    }

    public func encode(to encoder: Encoder) throws { try json.encode(to: encoder) }

    public init(from decoder: Decoder) throws {
        let partial = try SpecDecoder.partial(try JSONValue(from: decoder), at: .root)
        var p = partial.point
        // Axes absent from the JSON were not applicable: keep them nil.
        if !partial.axes.contains(.maxProcs) { p.maxProcs = nil }
        if !partial.axes.contains(.preemption) { p.preemption = nil }
        if !partial.axes.contains(.timeSlice) { p.timeSliceNanoseconds = nil }
        if !partial.axes.contains(.lockOSThread) { p.lockOSThread = nil }
        if !partial.axes.contains(.numaNode) { p.numaNode = nil }
        if !partial.axes.contains(.hogs) { p.hogs = nil }
        if !partial.axes.contains(.rate) { p.rate = nil }
        if !partial.axes.contains(.sysmon) { p.sysmon = nil }
        self = p
    }
}
