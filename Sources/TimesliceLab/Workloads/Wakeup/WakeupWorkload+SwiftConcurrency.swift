// The wakeup probe as a Task sleeping with `Task.sleep(until:tolerance:clock:)` to the same
// absolute deadlines as the other probes, tolerance zero; lateness = CLOCK_MONOTONIC after the
// wake − the intended deadline. Hogs are
// Tasks too: `tight`, `alloc` and `syscall` never suspend (they hold a pool thread until
// stopped); `polling` calls `Task.yield()` every ~10 µs, Swift's cooperative point.
import Foundation

extension WakeupWorkload {
    func runSwiftConcurrency(_ context: WorkloadContext) throws -> WorkloadResult {
        let p = self.p
        let (base, verify) = try SwiftConcurrencyBridge.prepare(context, workers: 1 + p.hogs)
        let stop = StopFlag()
        let rounds = HogCounters(count: p.hogs)
        let (sampling, counters) = try SwiftConcurrencyBridge.run { () async -> (PeriodicSampling?, [String: UInt64]) in
            let hogs = (0..<p.hogs).map { i in
                Task.detached { rounds.set(i, await Self.swiftHog(p.hogKind, stop: stop)) }
            }
            let out = await Self.swiftProbe(p, context: context)
            stop.set()
            for h in hogs { await h.value }
            return out
        }
        verify()
        var result = try Self.result(sampling, counters: counters.merging(["hog_rounds": rounds.total]) { own, _ in own })
        result.addCounters(base)
        return result
    }

    /// The same grid and accounting as the other probes; only the sleep is Swift's own:
    /// `Task.sleep(until:tolerance:clock:)` on SuspendingClock (CLOCK_MONOTONIC on Linux) with a
    /// zero tolerance, the closest Swift concurrency offers to TIMER_ABSTIME with 1 ns slack.
    static func swiftProbe(_ p: WakeupParameters, context: WorkloadContext) async -> (PeriodicSampling?, [String: UInt64]) {
        let clock = SuspendingClock()
        // Map grid deadlines (CLOCK_MONOTONIC ns) to the clock's instants through one offset.
        let originInstant = clock.now
        let originNs = MonotonicClock.now()
        let recording = context.probe
        var next: UInt64? = recording.begin(ProbeSchedule(window: context.window(), interval: p.intervalNanoseconds))
        while let deadline = next {
            let instant = originInstant + .nanoseconds(Int64(bitPattern: deadline &- originNs))
            try? await Task.sleep(until: instant, tolerance: .zero, clock: clock)
            let now = MonotonicClock.now()
            context.progress.beat()
            next = recording.wake(deadline: deadline, at: now)
        }
        return (recording.finished(), probeCounters())
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
