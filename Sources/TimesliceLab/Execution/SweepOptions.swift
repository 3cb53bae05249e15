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
    /// `--shard K/N`: run only the K-th of N deterministic slices of the plan (Slurm arrays,
    /// SweepShard). nil: the whole plan.
    public var shard: SweepShard?

    public init(quick: Bool = false, repetitions: Int? = nil, only: String? = nil, trace: Bool = false,
                maxProcs: [Int?]? = nil, preemption: [PreemptionSetting]? = nil, timeSlice: [UInt64]? = nil,
                environment: [String: String] = [:], shard: SweepShard? = nil) {
        self.quick = quick
        self.repetitions = repetitions
        self.only = only
        self.trace = trace
        self.maxProcs = maxProcs
        self.preemption = preemption
        self.timeSlice = timeSlice
        self.environment = environment
        self.shard = shard
    }

    /// The bounds of `--repeat`, the same as the file's `repetitions`.
    public static let repetitionRange = 1...1000

    /// Checks the options themselves (not against a spec): nil when fine, else the message.
    public func problem() -> String? {
        if let shard, !(1...shard.count).contains(shard.index) || shard.count > SweepShard.maximumCount {
            return "--shard \(shard.index)/\(shard.count): must be K/N with 1 <= K <= N <= \(SweepShard.maximumCount)"
        }
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
        if let shard { d["shard"] = shard.text }
        if let maxProcs { d["max_procs"] = maxProcs.map { $0.map(String.init) ?? "default" }.joined(separator: ",") }
        if let preemption { d["preempt"] = preemption.map(\.rawValue).joined(separator: ",") }
        if let timeSlice { d["time_slice"] = timeSlice.map(DurationText.render).joined(separator: ",") }
        return d
    }
}

/// One of N slices of a sweep's plan: run k (0-based, in the interleaved plan order) belongs to
/// shard k mod N + 1. Deterministic, so N machines (a Slurm array) together run the plan exactly
/// once, and each slice mixes configurations and repetitions like the whole plan does.
public struct SweepShard: Equatable, Sendable {
    public static let maximumCount = 1000
    /// 1-based.
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// "K/N", or nil when the text is not two whole numbers with a slash.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else { return nil }
        self.init(index: k, count: n)
    }

    public var text: String { "\(index)/\(count)" }

    /// The runs of this shard, with their positions in the whole plan.
    public func select<T>(_ plan: [T]) -> [(offset: Int, element: T)] {
        plan.enumerated().filter { $0.offset % count == index - 1 }.map { ($0.offset, $0.element) }
    }
}
