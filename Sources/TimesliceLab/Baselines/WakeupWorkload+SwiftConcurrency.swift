// The wakeup probe as a Task sleeping with `Task.sleep(until:clock:)` to absolute deadlines on
// SuspendingClock (CLOCK_MONOTONIC on Linux, the clock of the other probes), with the default
// tolerance; lateness = SuspendingClock.now after the wake − the intended deadline. Hogs are
// Tasks too: `tight`, `alloc` and `syscall` never suspend (they hold a pool thread until
// stopped); `polling` calls `Task.yield()` every ~10 µs, Swift's cooperative point.
import Foundation

extension WakeupWorkload {
    func runSwiftConcurrency(_ context: WorkloadContext) throws -> WorkloadResult {
        let p = self.p
        let (base, verify) = try SwiftConcurrencyBridge.prepare(context, workers: 1 + p.hogs)
        let stop = StopFlag()
        let rounds = HogCounters(count: p.hogs)
        let progress = context.progress
        let (latency, counters) = try SwiftConcurrencyBridge.run { () async -> (LatencyRecorder, [String: UInt64]) in
            let hogs = (0..<p.hogs).map { i in
                Task.detached { rounds.set(i, await Self.swiftHog(p.hogKind, stop: stop)) }
            }
            let out = await Self.swiftProbe(p, window: context.window(), progress: progress)
            stop.set()
            for h in hogs { await h.value }
            return out
        }
        verify()
        var all = counters.merging(base) { a, _ in a }
        all["hog_rounds"] = rounds.total
        return WorkloadResult(latency: latency, counters: all)
    }

    static func swiftProbe(_ p: WakeupParameters, window: MeasurementWindow,
                           progress: ProgressBeacon) async -> (LatencyRecorder, [String: UInt64]) {
        let clock = SuspendingClock()
        let origin = clock.now  // window.start, read a few ns earlier on CLOCK_MONOTONIC too
        let step = Duration.nanoseconds(Int64(p.intervalNanoseconds))
        var rec = LatencyRecorder()
        var warmupSamples: UInt64 = 0
        var missed: UInt64 = 0
        var k = 1
        while true {
            let deadline = origin + step * k
            try? await Task.sleep(until: deadline, clock: clock)
            let now = clock.now
            progress.beat()
            if window.inWarmup(window.start + UInt64(k) * p.intervalNanoseconds) {
                warmupSamples += 1
            } else {
                rec.record(SwiftConcurrencyBridge.nanoseconds(now - deadline))
            }
            if window.isOver(now: MonotonicClock.now(), recorded: rec.count) { break }
            k += 1
            while origin + step * k < now { k += 1; missed += 1 }
        }
        return (rec, ["samples_warmup_discarded": warmupSamples, "missed_periods": missed])
    }

    static func swiftHog(_ kind: HogKind, stop: StopFlag) async -> UInt64 {
        guard kind == .polling else { return Hog.run(kind, stop: stop) }
        var rounds: UInt64 = 0
        var x: UInt64 = 0x2545_F491_4F6C_DD1D
        while !stop.isSet {
            for _ in 0..<4_000 { x ^= x << 13; x ^= x >> 7; x ^= x << 17 }
            await Task.yield()
            rounds &+= 1
        }
        blackHole(x)
        return rounds
    }
}
