// Wakeup probe (cyclictest-like): a probe sleeps until absolute deadlines spaced `interval`
// apart on CLOCK_MONOTONIC and records lateness = actual wake time − intended deadline.
// Optional hogs compete for the CPU. A probe that stops waking is what "starvation" means in
// this project; the child's monitor watches the probe's progress beacon for it.
//
// The probe's timer slack is set to 1 ns (as cyclictest does) so that lateness is the
// scheduler's, not the kernel's deliberate 50 µs batching of normal threads' timers.
//
// When the probe is late by more than one interval, the missed deadlines are skipped (as
// cyclictest does) and counted in `missed_periods`; the one late sample carries the delay.

public struct WakeupParameters: Hashable, Sendable {
    public var intervalNanoseconds: UInt64 = 1_000_000
    public var hogs = 0
    public var hogKind: HogKind = .tight

    static func decode(_ r: inout ObjectReader) throws -> WakeupParameters {
        var p = WakeupParameters()
        p.intervalNanoseconds = try r.duration("interval", min: 10_000, max: 1_000_000_000) ?? p.intervalNanoseconds
        p.hogs = try r.int("hogs", min: 0, max: 256) ?? p.hogs
        p.hogKind = try r.oneOf("hog_kind", HogKind.allCases.map(\.rawValue)).flatMap(HogKind.init) ?? p.hogKind
        return p
    }
}

public struct WakeupWorkload: Workload {
    let p: WakeupParameters

    public init(parameters: WorkloadSpec) throws {
        guard case .wakeup(let p) = parameters else { throw WorkloadFailure("not a wakeup spec") }
        self.p = p
    }

    public func run(_ context: WorkloadContext) throws -> WorkloadResult {
        switch context.configuration.point.runtime {
        case .threads: return try runThreads(context)
        case .timeslice: return try runTimeslice(context)
        case .swiftConcurrency: return try runSwiftConcurrency(context)
        case .go: return try GoVariant.run(context)
        case .cyclictest: return try runCyclictest(context)
        case let other: throw Variants.unavailable(other, "wakeup")
        }
    }

    /// Probe loop shared by the variants; `sleepUntil` is the variant's absolute sleep.
    static func probe(_ p: WakeupParameters, window: MeasurementWindow, progress: ProgressBeacon,
                      sleepUntil: (UInt64) -> Void) -> (LatencyRecorder, [String: UInt64]) {
        var rec = LatencyRecorder()
        var warmupSamples: UInt64 = 0
        var missed: UInt64 = 0
        var next = window.start + p.intervalNanoseconds
        while true {
            sleepUntil(next)
            let now = MonotonicClock.now()
            progress.beat()
            if window.inWarmup(next) { warmupSamples += 1 } else { rec.record(now >= next ? now - next : 0) }
            if window.isOver(now: now, recorded: rec.count) { break }
            next += p.intervalNanoseconds
            while next < now { next += p.intervalNanoseconds; missed += 1 }
        }
        return (rec, ["samples_warmup_discarded": warmupSamples, "missed_periods": missed])
    }

    /// One pthread probe (worker 0) plus one pthread per hog (workers 1…hogs).
    func runThreads(_ context: WorkloadContext) throws -> WorkloadResult {
        let pinning = try context.pin(threads: 1 + p.hogs)
        let stop = StopFlag()
        let hogRounds = HogCounters(count: p.hogs)
        let hogs = (0..<p.hogs).map { i in
            OSThread(name: "hog\(i)") { [p] in
                pinning.pinCurrentThread(worker: i + 1)
                hogRounds.set(i, Hog.run(p.hogKind, stop: stop))
            }
        }
        var outcome: (LatencyRecorder, [String: UInt64])!
        let probe = OSThread(name: "probe") { [p] in
            pinning.pinCurrentThread(worker: 0)
            TimerSlack.minimizeForCurrentThread()
            outcome = Self.probe(p, window: context.window(), progress: context.progress,
                                 sleepUntil: MonotonicClock.sleep(until:))
        }
        probe.join()
        stop.set()
        hogs.forEach { $0.join() }
        var counters = outcome.1
        counters["hog_rounds"] = hogRounds.total
        return WorkloadResult(latency: outcome.0, counters: counters)
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
