// Wakeup probe (cyclictest-like): a probe sleeps until absolute deadlines spaced `interval`
// apart on CLOCK_MONOTONIC and records lateness = actual wake time − intended deadline.
// Optional hogs compete for the CPU. A probe that stops waking is what "starvation" means in
// this project; the child's monitor watches the probe's progress beacon for it.
//
// Every runtime's probe uses the same instrument: absolute deadlines on the same grid, 1 ns timer
// slack (set on the child's main thread before any thread starts, inherited by every thread, and
// read back by the probe's own thread as `probe_timer_slack_ns`), and one accounting of the
// samples (PeriodicSampling): `latency_ns` counts every intended deadline, missed periods
// included; `latency_raw_ns` holds one sample per wake-up.

import TimesliceHost

public struct WakeupParameters: WorkloadKind {
    public var intervalNanoseconds: UInt64 = 1_000_000
    public var hogs = 0
    public var hogKind: HogKind = .tight

    public static let kind = "wakeup"
    public static let latencyMeaning = "wake-up lateness (actual - intended), every intended deadline counted (missed periods included); latency_raw_ns: one sample per wake-up"

    public static func decode(_ r: inout ObjectReader) throws -> WakeupParameters {
        var p = WakeupParameters()
        p.intervalNanoseconds = try r.duration("interval", min: 10_000, max: 1_000_000_000) ?? p.intervalNanoseconds
        p.hogs = try r.int("hogs", min: 0, max: 256) ?? p.hogs
        p.hogKind = try r.oneOf("hog_kind", HogKind.allCases.map(\.rawValue)).flatMap(HogKind.init) ?? p.hogKind
        return p
    }

    public var json: [String: JSONValue] {
        ["interval": .string(DurationText.render(intervalNanoseconds)), "hogs": .integer(Int64(hogs)),
         "hog_kind": .string(hogKind.rawValue)]
    }

    public static let variants: [RuntimeKind: WorkloadVariant<WakeupParameters>] = [
        .threads: { try WakeupWorkload(p: $0).runThreads($1) },
        .timeslice: { try WakeupWorkload(p: $0).runTimeslice($1) },
        .swiftConcurrency: { try WakeupWorkload(p: $0).runSwiftConcurrency($1) },
        .go: { _, context in try GoVariant.run(context) },
        .cyclictest: { try WakeupWorkload(p: $0).runCyclictest($1) },
    ]

    /// The probe (worker 0) and one thread per hog.
    public func pinnedThreads(point: MatrixPoint, defaultMaxProcs: Int) -> Int { 1 + hogs }

    /// The matrix's `hogs` axis overrides the workload's (idle baseline rows).
    public func applying(_ point: MatrixPoint) -> WakeupParameters {
        var p = self
        if let hogs = point.hogs { p.hogs = hogs }
        return p
    }

    public func validate(in spec: ExperimentSpec, at path: JSONPath) throws {
        // The probe beats once per interval; a shorter timeout would call every run starved.
        if spec.starvationTimeoutNanoseconds <= 2 * intervalNanoseconds {
            throw path.key("starvation_timeout").error(
                "\(DurationText.render(spec.starvationTimeoutNanoseconds)) must be longer than twice workload.interval (\(DurationText.render(intervalNanoseconds)))")
        }
    }
}

/// The wakeup workload's variants (WakeupWorkload+<Runtime>.swift) and what they share.
struct WakeupWorkload {
    let p: WakeupParameters

    /// The probe loop of the in-process variants; `sleepUntil` is the variant's absolute sleep.
    /// Returns nil when the monitor took the recording over (the probe stalled).
    static func probe(_ p: WakeupParameters, context: WorkloadContext,
                      sleepUntil: (UInt64) -> Void) -> PeriodicSampling? {
        let recording = context.probe
        var next: UInt64? = recording.begin(ProbeSchedule(window: context.window(), interval: p.intervalNanoseconds))
        while let deadline = next {
            sleepUntil(deadline)
            let now = MonotonicClock.now()
            context.progress.beat()
            next = recording.wake(deadline: deadline, at: now)
        }
        return recording.finished()
    }

    /// The probe thread's own timer slack, read back after measuring (the instrument's record).
    static func probeCounters() -> [String: UInt64] {
        (try? TimerSlack.current()).map { ["probe_timer_slack_ns": $0] } ?? [:]
    }

    /// The result of an in-process probe, or the error that says the monitor took it over.
    static func result(_ sampling: PeriodicSampling?, counters: [String: UInt64]) throws -> WorkloadResult {
        guard let sampling else {
            throw WorkloadFailure("the probe's recording was taken over by the starvation monitor")
        }
        return WorkloadResult(sampling: sampling, counters: counters)
    }
}

/// Per-hog round counts written by the hog threads, read after they are joined.
final class HogCounters: @unchecked Sendable {
    // @unchecked: each slot is written by exactly one hog and read only after every hog was
    // joined. A raw buffer, not an Array, so that concurrent writes to distinct slots never
    // touch shared array metadata.
    private let rounds: UnsafeMutableBufferPointer<UInt64>
    init(count: Int) {
        rounds = .allocate(capacity: max(count, 1))
        rounds.initialize(repeating: 0)
    }
    deinit { rounds.deallocate() }
    func set(_ i: Int, _ v: UInt64) { rounds[i] = v }
    var total: UInt64 { rounds.reduce(0, &+) }
}
