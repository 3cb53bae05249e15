// The one definition of a periodic probe's samples, shared by every runtime: the in-process
// probes (timeslice, threads, swift-concurrency) feed it online; the Go program's wake-up events
// and cyclictest's per-cycle samples are replayed through it. So every row of a wakeup
// experiment counts the same deadlines and records the same quantity.
//
// The probe's schedule is the grid of deadlines d_k = start + k × interval (k ≥ 1). A deadline is
// *in the window* when warmupEnd ≤ d_k < end (duration runs), or while fewer than `iterations`
// samples have been recorded (iteration runs). Every in-window deadline yields exactly one
// corrected sample:
//   - the deadline the probe slept to and woke for: lateness = wake − d_k (also a raw sample);
//   - a deadline that passed while the probe was late for an earlier one (a *missed period*):
//     the lateness it would have had, wake − d_j. HdrHistogram's `recordCorrectedValue` records
//     the same values down to one interval; we also record the last one (below one interval),
//     because the probe skips that deadline (as cyclictest does) and would otherwise never
//     sample it. This is what "no coordinated omission" means here.
// `latency_ns` is the corrected distribution; `latency_raw_ns` (one sample per wake-up) is
// cyclictest's own definition and is what the cyclictest cross-check compares.
//
// Censoring: when the probe stalls (a starved configuration), `censor(at:)` records every
// in-window deadline that passed since the last wake-up with lateness `now − d_j`, a lower
// bound: the stall was at least that long. Deadlines after `now` were never observed and are
// counted as `unobserved_periods`, not invented.

/// The measurement window of a periodic probe on CLOCK_MONOTONIC.
public struct ProbeSchedule: Codable, Equatable, Sendable {
    public var start: UInt64
    public var interval: UInt64
    public var warmupEnd: UInt64
    /// nil for iteration runs.
    public var end: UInt64?
    public var iterations: Int?

    public init(start: UInt64, interval: UInt64, warmupEnd: UInt64, end: UInt64?, iterations: Int?) {
        precondition(interval > 0, "a probe interval is positive")
        self.start = start
        self.interval = interval
        self.warmupEnd = warmupEnd
        self.end = end
        self.iterations = iterations
    }

    public init(window: MeasurementWindow, interval: UInt64) {
        self.init(start: window.start, interval: interval, warmupEnd: window.warmupEnd, end: window.end,
                  iterations: window.iterations)
    }

    /// The first deadline of the grid.
    public var firstDeadline: UInt64 { start + interval }

    /// Deadlines in the window of a duration run: k from ceil((warmupEnd − start)/I) (at least 1)
    /// to the last k with d_k < end. Iteration runs intend exactly `iterations` samples.
    public var intendedSamples: UInt64 {
        if let iterations { return UInt64(iterations) }
        guard let end else { return 0 }
        let first = Swift.max(1, (warmupEnd - start + interval - 1) / interval)
        let last = (end - start + interval - 1) / interval - 1  // largest k with start + kI < end
        return last >= first ? last - first + 1 : 0
    }
}

/// What the sampling amounted to, reported per configuration beside the histograms.
public struct SamplingAccount: Codable, Equatable, Sendable {
    /// Deadlines the window planned (duration ÷ interval, or the iteration count).
    public var intendedSamples: UInt64
    /// Samples in the corrected histogram (`latency_ns`): wake-ups plus missed periods.
    public var recordedSamples: UInt64
    /// Wake-ups in the window (`latency_raw_ns`).
    public var wakeups: UInt64
    /// In-window deadlines that passed while the probe was late for an earlier one.
    public var missedPeriods: UInt64
    /// In-window deadlines after the stall was detected (censored runs only): never observed.
    public var unobservedPeriods: UInt64
    /// missed_periods ÷ intended_samples.
    public var deadlineMissRatio: Double
    /// True when the run stalled and the tail of the corrected distribution holds lower bounds.
    public var censored: Bool
    /// The observed length of the stall (a lower bound), censored runs only.
    public var stallNanoseconds: UInt64?
    /// Wake-ups whose deadline fell in the warm-up (discarded).
    public var warmupWakeups: UInt64

    enum CodingKeys: String, CodingKey {
        case intendedSamples = "intended_samples", recordedSamples = "recorded_samples", wakeups
        case missedPeriods = "missed_periods", unobservedPeriods = "unobserved_periods"
        case deadlineMissRatio = "deadline_miss_ratio", censored, stallNanoseconds = "stall_ns"
        case warmupWakeups = "warmup_wakeups"
    }
}

public struct PeriodicSampling: Sendable {
    public let schedule: ProbeSchedule
    /// Corrected distribution: one sample per in-window deadline.
    public private(set) var corrected = LatencyRecorder()
    /// One sample per in-window wake-up.
    public private(set) var raw = LatencyRecorder()
    public private(set) var missedPeriods: UInt64 = 0
    public private(set) var warmupWakeups: UInt64 = 0
    public private(set) var censoredStall: UInt64?
    private var unobserved: UInt64 = 0
    /// The deadline the probe sleeps to next (the first not yet accounted for).
    public private(set) var nextDeadline: UInt64

    public init(schedule: ProbeSchedule) {
        self.schedule = schedule
        nextDeadline = schedule.firstDeadline
    }

    /// True while the window takes samples at deadline `d`.
    @inline(__always) func inWindow(_ d: UInt64) -> Bool {
        guard d >= schedule.warmupEnd else { return false }
        if let end = schedule.end { return d < end }
        return corrected.count < UInt64(schedule.iterations ?? 0)
    }

    /// True once no later deadline can be in the window.
    public var isOver: Bool {
        if let end = schedule.end { return nextDeadline >= end }
        return corrected.count >= UInt64(schedule.iterations ?? 0)
    }

    /// Accounts the wake-up for `deadline` (the grid point the probe slept to) observed at `now`,
    /// and every deadline that passed meanwhile. Returns the next deadline to sleep to, or nil
    /// when the window is over. Deadlines must be fed in increasing order.
    public mutating func wake(deadline: UInt64, at now: UInt64) -> UInt64? {
        let late = now > deadline ? now - deadline : 0
        if inWindow(deadline) {
            raw.record(late)
            corrected.record(late)
        } else if deadline < schedule.warmupEnd {
            warmupWakeups += 1
        }
        var next = deadline + schedule.interval
        while next < now {
            if inWindow(next) {
                corrected.record(now - next)
                missedPeriods += 1
            }
            next += schedule.interval
        }
        nextDeadline = next
        return isOver ? nil : next
    }

    /// The probe stalled: every in-window deadline from the pending one up to `now` is recorded
    /// with the lower bound `now − d`; later ones are unobserved. Idempotent.
    public mutating func censor(at now: UInt64) {
        guard censoredStall == nil else { return }
        censoredStall = now > nextDeadline ? now - nextDeadline : 0
        var d = nextDeadline
        while d < now && !isOverAt(d) {
            if inWindow(d) {
                corrected.record(now - d)
                missedPeriods += 1
            }
            d += schedule.interval
        }
        nextDeadline = d
        let intended = schedule.intendedSamples
        unobserved = intended > corrected.count ? intended - corrected.count : 0
    }

    private func isOverAt(_ d: UInt64) -> Bool {
        if let end = schedule.end { return d >= end }
        return corrected.count >= UInt64(schedule.iterations ?? 0)
    }

    public var account: SamplingAccount {
        let intended = schedule.intendedSamples
        return SamplingAccount(
            intendedSamples: intended, recordedSamples: corrected.count, wakeups: raw.count,
            missedPeriods: missedPeriods, unobservedPeriods: unobserved,
            deadlineMissRatio: intended == 0 ? 0 : Double(missedPeriods) / Double(intended),
            censored: censoredStall != nil, stallNanoseconds: censoredStall, warmupWakeups: warmupWakeups)
    }
}
