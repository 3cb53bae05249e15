// An experiment file, decoded and validated (schema_version 1). See experiments/README.md for
// the schema as users read it; `SpecDecoder` is the only way to build one from JSON.
import Timeslice
import TimesliceHost

/// How long each configuration measures: for a fixed time, or for a fixed number of samples.
public enum RunLength: Codable, Hashable, Sendable {
    case duration(nanoseconds: UInt64)
    case iterations(Int)
}

/// The matrix axes as lists of values; an axis left out of the file has one default value.
public struct MatrixSpec: Codable, Hashable, Sendable {
    public var runtime: [RuntimeKind] = [.timeslice]
    public var maxProcs: [Int?] = [nil]
    public var preemption: [PreemptionSetting] = [RuntimeConfiguration.defaultPreemption]
    public var timeSliceNanoseconds: [UInt64] = [RuntimeConfiguration.defaultTimeSliceNanoseconds]
    public var placement: [PlacementChoice] = [.none]
    public var lockOSThread: [Bool] = [false]
    public var numaNode: [Int?] = [nil]
    public var hogs: [Int?] = [nil]
    public var rate: [OfferedRate?] = [nil]
    public var sysmon: [SysmonPlacementChoice?] = [nil]

    public init() {}

    /// The point made of every axis's first value: what an `include` entry starts from.
    public var firstPoint: MatrixPoint {
        MatrixPoint(runtime: runtime[0], maxProcs: maxProcs[0], preemption: preemption[0],
                    timeSliceNanoseconds: timeSliceNanoseconds[0], placement: placement[0],
                    lockOSThread: lockOSThread[0], numaNode: numaNode[0], hogs: hogs[0], rate: rate[0],
                    sysmon: sysmon[0])
    }
}

/// A partial assignment of axes, as in `include` and `exclude`. `point` holds the values of the
/// axes in `axes`; its other fields are meaningless.
public struct PartialPoint: Hashable, Sendable {
    public var axes: Set<MatrixAxis>
    public var point: MatrixPoint

    /// True when `other` has this entry's value on every axis this entry sets.
    public func matches(_ other: MatrixPoint) -> Bool {
        axes.allSatisfy { raw(point, $0) == raw(other, $0) }
    }

    /// Applies this entry's values on top of `base`.
    public func apply(to base: MatrixPoint) -> MatrixPoint {
        var p = base
        for axis in axes {
            switch axis {
            case .runtime: p.runtime = point.runtime
            case .maxProcs: p.maxProcs = point.maxProcs
            case .preemption: p.preemption = point.preemption
            case .timeSlice: p.timeSliceNanoseconds = point.timeSliceNanoseconds
            case .placement: p.placement = point.placement
            case .lockOSThread: p.lockOSThread = point.lockOSThread
            case .numaNode: p.numaNode = point.numaNode
            case .hogs: p.hogs = point.hogs
            case .rate: p.rate = point.rate
            case .sysmon: p.sysmon = point.sysmon
            }
        }
        return p
    }

    /// Axis text before normalization, so that `exclude {"preemption":"cooperative"}` also
    /// matches a point whose runtime ignores preemption.
    private func raw(_ p: MatrixPoint, _ axis: MatrixAxis) -> String {
        switch axis {
        case .runtime: return p.runtime.rawValue
        case .maxProcs: return p.maxProcs.map(String.init) ?? "default"
        case .preemption: return p.preemption?.rawValue ?? "-"
        case .timeSlice: return p.timeSliceNanoseconds.map(DurationText.render) ?? "-"
        case .placement: return p.placement.idText
        case .lockOSThread: return p.lockOSThread.map { $0 ? "true" : "false" } ?? "-"
        case .numaNode: return p.numaNode.map(String.init) ?? "-"
        case .hogs: return p.hogs.map(String.init) ?? "-"
        case .rate: return p.rate?.text ?? "-"
        case .sysmon: return p.sysmon?.rawValue ?? "-"
        }
    }
}

public struct ExperimentSpec: Sendable {
    public static let schemaVersion = 1

    public var name: String
    public var description: String
    public var matrix: MatrixSpec
    public var include: [PartialPoint]
    public var exclude: [PartialPoint]
    public var workload: WorkloadSpec
    public var length: RunLength
    public var warmupNanoseconds: UInt64
    public var repetitions: Int
    public var seed: UInt64
    public var schedtraceMilliseconds: Int?
    /// Seconds; nil means derived from the length (see `watchdogNanoseconds`).
    public var watchdogSeconds: Double?
    public var starvationTimeoutNanoseconds: UInt64
    /// The file as written, echoed into results.json so a run carries its own recipe.
    public var source: JSONValue
    /// Axes set from the command line or the environment (EffectiveConfiguration), as JSON, so
    /// that `effective_spec` reproduces the plan (`timeslice resume`).
    public var matrixOverrides: [String: JSONValue] = [:]
    /// Top-level keys set from the environment (`schedtrace_ms`).
    public var topOverrides: [String: JSONValue] = [:]

    /// The deadline the parent gives each child. Derived: warm-up + duration, doubled for
    /// slow machines, plus the starvation timeout and 10 s for process start and teardown.
    /// Iteration counts have no known length, so they get a flat 120 s unless told.
    public var watchdogNanoseconds: UInt64 {
        if let watchdogSeconds { return UInt64(watchdogSeconds * 1e9) }
        switch length {
        case .duration(let ns): return 2 * (warmupNanoseconds + ns) + starvationTimeoutNanoseconds + 10_000_000_000
        case .iterations: return 120_000_000_000
        }
    }
}

extension ExperimentSpec {
    /// The file as it actually runs: `source` with the length, warm-up and repetitions replaced
    /// by the effective values (after --quick and --repeat), and the axes or keys set by flags or
    /// environment variables (EffectiveConfiguration) written in.
    public var effectiveJSON: JSONValue {
        guard case .object(var o) = source else { return source }
        if !matrixOverrides.isEmpty {
            var m: [String: JSONValue] = [:]
            if case .object(let given)? = o["matrix"] { m = given }
            for (k, v) in matrixOverrides { m[k] = v }
            o["matrix"] = .object(m)
        }
        for (k, v) in topOverrides { o[k] = v }
        switch length {
        case .duration(let ns):
            o["duration"] = .string(DurationText.render(ns))
            o.removeValue(forKey: "iterations")
        case .iterations(let n):
            o["iterations"] = .integer(Int64(n))
            o.removeValue(forKey: "duration")
        }
        o["warmup"] = .string(DurationText.render(warmupNanoseconds))
        o["repetitions"] = .integer(Int64(repetitions))
        return .object(o)
    }
}
