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

public struct OpenLoopParameters: Hashable, Sendable {
    public var rate: Double = 20_000
    public var fastServiceNanoseconds: UInt64 = 1_000
    public var slowServiceNanoseconds: UInt64 = 1_000_000
    public var slowFraction = 0.005
    /// Server workers; nil = one per P (timeslice) or per usable CPU (threads).
    public var workers: Int?

    static func decode(_ r: inout ObjectReader) throws -> OpenLoopParameters {
        var p = OpenLoopParameters()
        p.rate = try r.double("rate", min: 1, max: 10_000_000) ?? p.rate
        p.fastServiceNanoseconds = try r.duration("fast_service", min: 0, max: 1_000_000_000) ?? p.fastServiceNanoseconds
        p.slowServiceNanoseconds = try r.duration("slow_service", min: 0, max: 10_000_000_000) ?? p.slowServiceNanoseconds
        p.slowFraction = try r.double("slow_fraction", min: 0, max: 1) ?? p.slowFraction
        p.workers = try r.int("workers", min: 1, max: 1024)
        return p
    }
}

public struct OpenLoopWorkload: Workload {
    let p: OpenLoopParameters

    public init(parameters: WorkloadSpec) throws {
        guard case .openLoop(let p) = parameters else { throw WorkloadFailure("not an open_loop spec") }
        self.p = p
    }

    public func run(_ context: WorkloadContext) throws -> WorkloadResult {
        switch context.configuration.point.runtime {
        case .threads: return try runThreads(context)
        case .timeslice: return try runTimeslice(context)
        case let other: throw Variants.unavailable(other, "open_loop")
        }
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
