// Open-loop request server: requests arrive by a Poisson process at `rate` per second whether
// or not earlier ones finished; service time is bimodal (Shinjuku's 99.5 % 1 µs / 0.5 % 1 ms by
// default). Latency is completion − *intended* arrival, so a stalled server is charged for every
// request that should have arrived meanwhile (no coordinated omission).
//
// Every variant has the same three parts:
//   schedule   `OpenLoopSchedule` (OpenLoopSchedule.swift): the requests, each with its intended
//              arrival time and service time, a pure function of the seed and the window;
//   generator  one party that waits for each intended arrival and enqueues the request. If it
//              runs late it enqueues the overdue requests at once, still stamped with their
//              intended times: its own lateness shows in `generator_lag_max_ns`, and in the
//              latencies, never in the offered load;
//   workers    `workers` parties that dequeue, burn the service time's worth of CPU work
//              (`CPUWork`, like a request handler; not a sleep, not a clock-watching spin) and
//              record completion − intended arrival.
// timeslice: main goroutine = generator, a buffered Channel, worker goroutines
//            (OpenLoopWorkload+Timeslice.swift);
// threads:   a generator pthread, a mutex/condvar queue, worker pthreads
//            (OpenLoopWorkload+Threads.swift).
// Every timestamp is MonotonicClock.now() (CLOCK_MONOTONIC), in both variants.

import TimesliceHost

public struct OpenLoopParameters: WorkloadKind {
    public var rate: Double = 20_000
    public var fastServiceNanoseconds: UInt64 = 1_000
    public var slowServiceNanoseconds: UInt64 = 1_000_000
    public var slowFraction = 0.005
    /// Server workers; nil = one per P (timeslice) or per usable CPU (threads).
    public var workers: Int?

    public static let kind = "open_loop"
    public static let latencyMeaning = "response time from intended arrival"

    public var json: [String: JSONValue] {
        var o: [String: JSONValue] = [
            "rate": .real(rate), "fast_service": .string(DurationText.render(fastServiceNanoseconds)),
            "slow_service": .string(DurationText.render(slowServiceNanoseconds)), "slow_fraction": .real(slowFraction)]
        if let workers { o["workers"] = .integer(Int64(workers)) }
        return o
    }

    public static let variants: [RuntimeKind: WorkloadVariant<OpenLoopParameters>] = [
        .threads: { try OpenLoopWorkload(p: $0).runThreads($1) },
        .timeslice: { try OpenLoopWorkload(p: $0).runTimeslice($1) },
    ]

    /// The generator (worker 0) and the server threads.
    public func pinnedThreads(point: MatrixPoint, defaultMaxProcs: Int) -> Int { 1 + (workers ?? defaultMaxProcs) }

    public static func decode(_ r: inout ObjectReader) throws -> OpenLoopParameters {
        var p = OpenLoopParameters()
        p.rate = try r.double("rate", min: 1, max: 10_000_000) ?? p.rate
        p.fastServiceNanoseconds = try r.duration("fast_service", min: 0, max: 1_000_000_000) ?? p.fastServiceNanoseconds
        p.slowServiceNanoseconds = try r.duration("slow_service", min: 0, max: 10_000_000_000) ?? p.slowServiceNanoseconds
        p.slowFraction = try r.double("slow_fraction", min: 0, max: 1) ?? p.slowFraction
        p.workers = try r.int("workers", min: 1, max: 1024)
        return p
    }
}

/// The open-loop workload's variants (OpenLoopWorkload+<Runtime>.swift) and what they share.
struct OpenLoopWorkload {
    let p: OpenLoopParameters

    /// The generator, the same in every variant: sleeps to each intended arrival (`sleepUntil`,
    /// the variant's absolute sleep), stamps when it actually handed the request over, and
    /// `send`s it. Returns how many requests it generated and its worst lateness (measured ones).
    static func generate(_ p: OpenLoopParameters, seed: UInt64, window: MeasurementWindow,
                         sleepUntil: (UInt64) -> Void, send: (OpenLoopRequest) -> Void) -> (generated: UInt64, lag: UInt64) {
        var generated: UInt64 = 0, lag: UInt64 = 0
        for var r in OpenLoopSchedule(p, seed: seed, window: window) {
            sleepUntil(r.intended)
            r.sent = MonotonicClock.now()
            if !r.warmup, r.sent > r.intended { lag = max(lag, r.sent - r.intended) }
            send(r)
            generated += 1
        }
        return (generated, lag)
    }

    /// One server, the same in every variant: takes requests until the source is closed and
    /// drained (`next` returns nil), serves each, and tallies it.
    static func serve(next: () -> OpenLoopRequest?, service: Service, progress: ProgressBeacon) -> OpenLoopTally {
        var tally = OpenLoopTally()
        while let r = next() {
            let taken = MonotonicClock.now()
            service(r)
            tally.complete(r, taken: taken, at: MonotonicClock.now())
            progress.beat()
        }
        return tally
    }

    /// The variants' result: every server's tally merged, the counters and the decomposition.
    static func result(_ tallies: ResultSlots<OpenLoopTally>, workers: Int, generated: UInt64, lag: UInt64,
                       window: MeasurementWindow, work: CPUWork) -> WorkloadResult {
        var total = OpenLoopTally()
        for t in tallies.values { total.add(t) }
        var counters = total.counters(workers: workers, generated: generated, lag: lag,
                                      seconds: window.measuredSeconds(until: MonotonicClock.now()))
        counters["cpu_work_rounds_per_us"] = UInt64(work.roundsPerMicrosecond.rounded())
        var result = WorkloadResult(latency: total.latency, counters: counters)
        result.histograms = total.histograms
        return result
    }

    /// What a worker does with a request; the variants serve with CPU work, tests may stall.
    typealias Service = (OpenLoopRequest) -> Void

    /// Serves each request with its service time's worth of calibrated CPU work.
    static func cpuService(_ p: OpenLoopParameters, _ work: CPUWork) -> Service {
        let fast = work.rounds(nanoseconds: p.fastServiceNanoseconds)
        let slow = work.rounds(nanoseconds: p.slowServiceNanoseconds)
        return { r in blackHole(CPUWork.burn(r.isSlow ? slow : fast, seed: r.intended)) }
    }
}

/// A fixed amount of CPU work standing for a duration, calibrated once per run.
///
/// Work, not a clock-watching spin: a request handler that is preempted halfway still owes the
/// rest of its work when it resumes. A spin until "start + service time" would instead finish
/// at once on resumption and hide exactly the delays the experiments measure. Shared by
/// open_loop (service times) and work_stealing (task sizes).
struct CPUWork: Sendable {
    /// xorshift rounds per microsecond on this CPU, uninterrupted.
    let roundsPerMicrosecond: Double

    /// Times a block of rounds several times and keeps the fastest, i.e. the run with the least
    /// interference (a VM's steal time, an interrupt): the nominal duration is then what the
    /// work takes on an undisturbed CPU, and any disturbance during the run shows as latency.
    static func calibrate() -> CPUWork {
        let block = 20_000
        var best = UInt64.max
        var x: UInt64 = 1
        for _ in 0..<50 {
            let t0 = MonotonicClock.now()
            x = burn(block, seed: x)
            best = min(best, max(MonotonicClock.now() - t0, 1))
        }
        blackHole(x)
        return CPUWork(roundsPerMicrosecond: Double(block) * 1_000 / Double(best))
    }

    func rounds(nanoseconds: UInt64) -> Int {
        Int((Double(nanoseconds) * roundsPerMicrosecond / 1_000).rounded())
    }

    /// `rounds` of xorshift, each depending on the last so none can be skipped or vectorized.
    /// This module's code, not libc's: async preemption can stop it anywhere.
    @inline(never)
    static func burn(_ rounds: Int, seed: UInt64) -> UInt64 {
        var x = seed | 1
        for _ in 0..<rounds { x ^= x << 13; x ^= x >> 7; x ^= x << 17 }
        return x
    }
}

/// One worker's results, merged after every worker has finished.
struct OpenLoopTally: Sendable {
    /// Response time from intended arrival: generator lag + queue wait + service.
    var latency = LatencyRecorder()
    /// The decomposition of `latency` (results.json `histograms`): intended → sent by the
    /// generator, sent → taken by a server, taken → completed.
    var generatorLag = LatencyRecorder()
    var queueWait = LatencyRecorder()
    var service = LatencyRecorder()
    /// Measured requests served with the slow service time.
    var slow: UInt64 = 0
    /// Requests that arrived during warm-up: served, not recorded.
    var warmup: UInt64 = 0

    /// Records `r`, taken off the queue at `taken` and completed at `now` (CLOCK_MONOTONIC ns).
    @inline(__always)
    mutating func complete(_ r: OpenLoopRequest, taken: UInt64, at now: UInt64) {
        if r.warmup { warmup += 1; return }
        latency.record(now &- min(r.intended, now))
        generatorLag.record(r.sent &- min(r.intended, r.sent))
        queueWait.record(taken &- min(r.sent, taken))
        service.record(now &- min(taken, now))
        if r.isSlow { slow += 1 }
    }

    var histograms: [String: LatencyRecorder] {
        ["generator_lag_ns": generatorLag, "queue_wait_ns": queueWait, "service_ns": service]
    }

    mutating func add(_ other: OpenLoopTally) {
        latency.add(other.latency)
        generatorLag.add(other.generatorLag)
        queueWait.add(other.queueWait)
        service.add(other.service)
        slow += other.slow
        warmup += other.warmup
    }

    /// The workload's counters; `lag` is the generator's worst lateness over measured requests.
    func counters(workers: Int, generated: UInt64, lag: UInt64, seconds: Double) -> [String: UInt64] {
        [
            "requests": latency.count,
            "requests_generated": generated,
            "slow_requests": slow,
            "samples_warmup_discarded": warmup,
            "workers": UInt64(workers),
            "generator_lag_max_ns": lag,
            "completed_per_second": seconds > 0 ? UInt64(Double(latency.count) / seconds) : 0,
        ]
    }
}
