// Everything a child process needs to run one configuration, and nothing else. The parent
// encodes it to JSON and hands it to `timeslice _child`; the child decodes it with the
// synthesized decoder (it was validated when the experiment file was read).

public struct RunConfiguration: Codable, Hashable, Sendable {
    public var experiment: String
    public var point: MatrixPoint
    public var workload: WorkloadSpec
    public var length: RunLength
    public var warmupNanoseconds: UInt64
    /// Per-repetition seed: the spec's seed mixed with the repetition number, so repetitions
    /// differ but a rerun of the same file reproduces the same arrival sequences.
    public var seed: UInt64
    public var repetition: Int
    public var starvationTimeoutNanoseconds: UInt64
    public var schedtraceMilliseconds: Int?
    /// Set by the sweep when the host cannot honour the requested placement in a way the
    /// experiment accepts (today: `isolated` on a host without isolated CPUs runs as `compact`,
    /// with a warning in results.json). nil: the requested placement is used as is.
    public var placementFallback: PlacementChoice?
    /// When the child reports `timeout` itself, with the samples it has (StarvationMonitor):
    /// 3 s before the parent's watchdog. nil: the child waits for the watchdog.
    public var childDeadlineNanoseconds: UInt64?

    public var id: String { point.id }

    /// The placement the workload actually applies.
    public var placement: PlacementChoice { placementFallback ?? point.effectivePlacement }

    public init(spec: ExperimentSpec, point: MatrixPoint, repetition: Int) {
        experiment = spec.name
        self.point = point
        workload = spec.workload.applying(point)
        length = spec.length
        warmupNanoseconds = spec.warmupNanoseconds
        seed = spec.seed &+ UInt64(repetition) &* 0x9E37_79B9_7F4A_7C15
        self.repetition = repetition
        starvationTimeoutNanoseconds = spec.starvationTimeoutNanoseconds
        schedtraceMilliseconds = spec.schedtraceMilliseconds
        let watchdog = spec.watchdogNanoseconds
        childDeadlineNanoseconds = watchdog > 6_000_000_000 ? watchdog - 3_000_000_000 : nil
    }
}
