// The measurement loop of every closed-loop variant (ping-pong, spawn/join, throughput, work
// stealing): time one operation, beat the progress beacon, discard samples that started in the
// warm-up, stop when the window is over. One definition, so that every runtime's row of a
// workload measures the same quantity the same way (periodic probes use PeriodicSampling).
enum ClosedLoop {
    /// Times `operation` back to back until `window` is over. `budgetShare`: how many samples of
    /// the window's iteration budget one recorded sample stands for (workers sharing a budget).
    static func measure(_ window: MeasurementWindow, progress: ProgressBeacon, budgetShare: UInt64 = 1,
                        _ operation: () -> Void) -> LatencyRecorder {
        var rec = LatencyRecorder()
        while true {
            let t0 = MonotonicClock.now()
            operation()
            let t1 = MonotonicClock.now()
            progress.beat()
            if !window.inWarmup(t0) { rec.record(t1 - t0) }
            if window.isOver(now: t1, recorded: rec.count * budgetShare) { return rec }
        }
    }

    /// The same loop for Swift concurrency variants, whose operation suspends.
    static func measure(_ window: MeasurementWindow, progress: ProgressBeacon,
                        _ operation: () async -> Void) async -> LatencyRecorder {
        var rec = LatencyRecorder()
        while true {
            let t0 = MonotonicClock.now()
            await operation()
            let t1 = MonotonicClock.now()
            progress.beat()
            if !window.inWarmup(t0) { rec.record(t1 - t0) }
            if window.isOver(now: t1, recorded: rec.count) { return rec }
        }
    }
}
