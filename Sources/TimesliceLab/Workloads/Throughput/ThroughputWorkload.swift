// CPU-bound throughput: `tasks` workers each repeat a fixed unit of arithmetic; the rate of
// units is the runtime's overhead yardstick, and the time per unit (the latency histogram)
// shows interference such as preemption or migration.

import TimesliceHost

public struct ThroughputParameters: WorkloadKind {
    /// Number of concurrent workers; nil = one per usable CPU (threads) or per P (timeslice).
    public var tasks: Int?
    /// xorshift rounds per unit; the default is about 20 µs on current x86.
    public var workUnit = 50_000

    public static let kind = "throughput"
    public static let latencyMeaning = "time per work unit"

    public var json: [String: JSONValue] {
        var o: [String: JSONValue] = ["work_unit": .integer(Int64(workUnit))]
        if let tasks { o["tasks"] = .integer(Int64(tasks)) }
        return o
    }

    public static let variants: [RuntimeKind: WorkloadVariant<ThroughputParameters>] = [
        .threads: { try ThroughputWorkload(p: $0).runThreads($1) },
        .timeslice: { try ThroughputWorkload(p: $0).runTimeslice($1) },
        .swiftConcurrency: { try ThroughputWorkload(p: $0).runSwiftConcurrency($1) },
        .go: { _, context in try GoVariant.run(context) },
    ]

    public func pinnedThreads(point: MatrixPoint, defaultMaxProcs: Int) -> Int { tasks ?? point.maxProcs ?? defaultMaxProcs }

    public static func decode(_ r: inout ObjectReader) throws -> ThroughputParameters {
        var p = ThroughputParameters()
        p.tasks = try r.int("tasks", min: 1, max: 1024)
        p.workUnit = try r.int("work_unit", min: 100, max: 100_000_000) ?? p.workUnit
        return p
    }
}

/// The throughput workload's variants (ThroughputWorkload+<Runtime>.swift) and their shared
/// per-worker loop.
struct ThroughputWorkload {
    let p: ThroughputParameters

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
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(index)
        // Each of the `tasks` workers takes its share of an iteration budget.
        let rec = ClosedLoop.measure(window, progress: progress, budgetShare: UInt64(tasks)) { unit(workUnit, &x) }
        blackHole(x)
        return (rec, rec.count)
    }
}
