// Command-line adjustments to an experiment: --quick, --repeat, --only, --trace, --max-procs,
// --preempt, --time-slice (and the environment's TIMESLICE_*, see EffectiveConfiguration).
import TimesliceHost

public struct SweepOptions: Sendable {
    /// Shorten every configuration for a smoke run: at most 1 s measured, 200 ms warm-up,
    /// 1000 iterations, one repetition. The starvation timeout is kept: it is part of what is
    /// measured ("never ran within 3 s"), not a length.
    public var quick = false
    /// Overrides the spec's `repetitions`.
    public var repetitions: Int?
    /// Comma-separated `key=value` terms; a configuration runs when its id contains every term,
    /// e.g. `rt=timeslice,preempt=async`.
    public var only: String?
    /// Ask the runtime of every `timeslice` configuration for a Chrome/Perfetto trace, written to
    /// `<run dir>/<config stem>.trace.json` (see ChildTrace).
    public var trace = false
    /// Axes replaced from the command line (`--max-procs`, `--preempt`, `--time-slice`): they
    /// win over the file and the environment (EffectiveConfiguration).
    public var maxProcs: [Int?]?
    public var preemption: [PreemptionSetting]?
    public var timeSlice: [UInt64]?
    /// The runner's environment, for TIMESLICE_* (EffectiveConfiguration). Empty by default, so
    /// that a library caller (and every test) is not configured by whatever shell ran it;
    /// `timeslice run` passes its own environment.
    public var environment: [String: String] = [:]

    public init(quick: Bool = false, repetitions: Int? = nil, only: String? = nil, trace: Bool = false,
                maxProcs: [Int?]? = nil, preemption: [PreemptionSetting]? = nil, timeSlice: [UInt64]? = nil,
                environment: [String: String] = [:]) {
        self.quick = quick
        self.repetitions = repetitions
        self.only = only
        self.trace = trace
        self.maxProcs = maxProcs
        self.preemption = preemption
        self.timeSlice = timeSlice
        self.environment = environment
    }

    /// The bounds of `--repeat`, the same as the file's `repetitions`.
    public static let repetitionRange = 1...1000

    /// Checks the options themselves (not against a spec): nil when fine, else the message.
    public func problem() -> String? {
        if let repetitions, !Self.repetitionRange.contains(repetitions) {
            return "--repeat \(repetitions): must be \(Self.repetitionRange.lowerBound)...\(Self.repetitionRange.upperBound), like the file's \"repetitions\""
        }
        if let only {
            let terms = only.split(separator: ",", omittingEmptySubsequences: false)
            for term in terms {
                let parts = term.split(separator: "=", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    return "--only \"\(only)\": every comma-separated term must be key=value (e.g. rt=timeslice,preempt=async); \"\(term)\" is not"
                }
            }
        }
        return nil
    }

    public func apply(to spec: ExperimentSpec) -> ExperimentSpec {
        var s = spec
        if quick {
            switch s.length {
            case .duration(let ns): s.length = .duration(nanoseconds: min(ns, 1_000_000_000))
            case .iterations(let n): s.length = .iterations(min(n, 1_000))
            }
            s.warmupNanoseconds = min(s.warmupNanoseconds, 200_000_000)
            s.repetitions = 1
        }
        if let repetitions { s.repetitions = repetitions }
        return s
    }

    public func selects(_ point: MatrixPoint) -> Bool {
        guard let only, !only.isEmpty else { return true }
        let id = point.id
        return only.split(separator: ",").allSatisfy { term in
            // Match whole `key=value` fields so that "procs=1" does not select "procs=12".
            id.split(separator: ",").contains { $0 == term }
        }
    }

    /// For results.json `options`.
    public var asDictionary: [String: String] {
        var d: [String: String] = [:]
        if quick { d["quick"] = "true" }
        if let repetitions { d["repeat"] = String(repetitions) }
        if let only { d["only"] = only }
        if trace { d["trace"] = "true" }
        if let maxProcs { d["max_procs"] = maxProcs.map { $0.map(String.init) ?? "default" }.joined(separator: ",") }
        if let preemption { d["preempt"] = preemption.map(\.rawValue).joined(separator: ",") }
        if let timeSlice { d["time_slice"] = timeSlice.map(DurationText.render).joined(separator: ",") }
        return d
    }
}
