// CPU-bound throughput: `tasks` workers each repeat a fixed unit of arithmetic; the rate of
// units is the runtime's overhead yardstick, and the time per unit (the latency histogram)
// shows interference such as preemption or migration.

public struct ThroughputParameters: Hashable, Sendable {
    /// Number of concurrent workers; nil = one per usable CPU (threads) or per P (timeslice).
    public var tasks: Int?
    /// xorshift rounds per unit; the default is about 20 µs on current x86.
    public var workUnit = 50_000

    static func decode(_ r: inout ObjectReader) throws -> ThroughputParameters {
        var p = ThroughputParameters()
        p.tasks = try r.int("tasks", min: 1, max: 1024)
        p.workUnit = try r.int("work_unit", min: 100, max: 100_000_000) ?? p.workUnit
        return p
    }
}

public struct ThroughputWorkload: Workload {
    let p: ThroughputParameters

    public init(parameters: WorkloadSpec) throws {
        guard case .throughput(let p) = parameters else { throw WorkloadFailure("not a throughput spec") }
        self.p = p
    }

    public func run(_ context: WorkloadContext) throws -> WorkloadResult {
        switch context.configuration.point.runtime {
        case .threads: return try runThreads(context)
        case .timeslice: return try runTimeslice(context)
        case .swiftConcurrency: return try runSwiftConcurrency(context)
        case .go: return try GoVariant.run(context)
        case let other: throw Variants.unavailable(other, "throughput")
        }
    }

    /// One unit of work; returns the state so the loop cannot be elided.
    @inline(__always)
    static func unit(_ rounds: Int, _ x: inout UInt64) {
        for _ in 0..<rounds { x ^= x << 13; x ^= x >> 7; x ^= x << 17 }
    }

    /// One worker's measurement loop, the same for every runtime variant: units of
    /// work timed one by one until the window (or this worker's share of the
    /// iteration budget) is over. Returns the samples and the units done.
    static func measureWorker(_ index: Int, of tasks: Int, workUnit: Int, window: MeasurementWindow,
                              progress: ProgressBeacon) -> (LatencyRecorder, UInt64) {
        var rec = LatencyRecorder()
        var units: UInt64 = 0
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(index)
        while true {
            let t0 = MonotonicClock.now()
            unit(workUnit, &x)
            let t1 = MonotonicClock.now()
            progress.beat()
            if !window.inWarmup(t0) { rec.record(t1 - t0); units += 1 }
            if window.isOver(now: t1, recorded: rec.count * UInt64(tasks)) { break }
        }
        blackHole(x)
        return (rec, units)
    }

    func runThreads(_ context: WorkloadContext) throws -> WorkloadResult {
        let tasks = p.tasks ?? UsableCPUs.count()
        let pinning = try context.pin(threads: tasks)
        let results = ResultSlots<(LatencyRecorder, UInt64)>(count: tasks)
        let window = context.window()
        let threads = (0..<tasks).map { i in
            OSThread(name: "work\(i)") { [p] in
                pinning.pinCurrentThread(worker: i)
                results.set(i, Self.measureWorker(i, of: tasks, workUnit: p.workUnit,
                                                  window: window, progress: context.progress))
            }
        }
        threads.forEach { $0.join() }
        let end = MonotonicClock.now()
        var total = LatencyRecorder()
        var units: UInt64 = 0
        for r in results.values { total.add(r.0); units += r.1 }
        let seconds = window.measuredSeconds(until: end)
        return WorkloadResult(latency: total, counters: [
            "tasks": UInt64(tasks), "units": units,
            "units_per_second": seconds > 0 ? UInt64(Double(units) / seconds) : 0,
        ])
    }
}
