// The one place where the lab meets the Timeslice runtime: maps a matrix point onto a
// RuntimeConfiguration, checks placement before the runtime starts (so an impossible request
// is an `error` result with the resolver's message, not a trap inside the runtime), runs the
// body as the main goroutine, and returns the runtime's counters beside the body's result.
import Timeslice
import TimesliceHost

enum RuntimeBridge {
    static func configuration(_ c: RunConfiguration) -> RuntimeConfiguration {
        var rc = RuntimeConfiguration()
        rc.maxProcs = c.point.maxProcs
        // The point is normalized, so these are set for timeslice; nil only in hand-made points.
        rc.preemption = c.point.preemption ?? RuntimeConfiguration.defaultPreemption
        rc.timeSliceNanoseconds = c.point.timeSliceNanoseconds ?? RuntimeConfiguration.defaultTimeSliceNanoseconds
        rc.schedtraceMilliseconds = c.schedtraceMilliseconds
        rc.placement = PlacementSpec(workers: c.placement.policy)
        rc.lockOSThread = c.point.lockOSThread ?? false
        // `timeslice run --trace`: the parent names the file in our environment (ChildTrace).
        rc.traceFile = ChildTrace.requestedPath()
        return rc
    }

    /// Runs `body` as the main goroutine. Errors thrown by `body` are rethrown after the
    /// runtime has shut down. Counters are prefixed `runtime_` to keep them apart from the
    /// workload's own.
    /// `netpollSpinNanoseconds`: busy polling for `timeslice bench --only net`'s second
    /// timeslice row (experiments have no such axis: nil).
    /// `cpus`: where the workload confined the runtime, for the `sysmon` axis (SysmonCPUs);
    /// nil: the workers are placed by the `placement` axis alone.
    static func run<T>(_ context: WorkloadContext, netpollSpinNanoseconds: UInt64? = nil, cpus: SysmonCPUs? = nil,
                       _ body: @escaping () throws -> T) throws -> (T, [String: UInt64]) {
        var rc = configuration(context.configuration)
        rc.netpollSpinNanoseconds = netpollSpinNanoseconds
        if context.configuration.point.sysmon == .apart {
            let choice = try SysmonCPUs.apart(context.configuration, confined: cpus)
            rc.placement.sysmon = .explicit([choice.cpu])
            rc.placementCPUs = choice.usable
            context.placementNote = [context.placementNote, choice.note].compactMap { $0 }.joined(separator: "; ")
        }
        // Fails before anything runs when the machine cannot honour the placement.
        try Runtime.validate(rc)
        let result: Result<T, Error> = Runtime.run(rc) { Result { try body() } }
        let applied = Runtime.placement
        // Worker Ms only: a pinned sysmon is not a worker (its outcome is in the note below).
        context.runtimePlacement = applied.filter { $0.thread.hasPrefix("M") }.enumerated().compactMap { index, a in
            guard let requested = a.requested else { return nil }
            return PinObservation(worker: index, requested: requested.sorted, allowedAfter: a.verified?.sorted,
                                  observedCPU: a.observedCPU,
                                  verified: a.error == nil && a.verified == requested && requested.contains(a.observedCPU),
                                  error: a.error.map { "\(a.thread): \($0)" })
        }
        if !applied.isEmpty {
            // What each runtime thread asked for and what sched_getaffinity/getcpu reported.
            let threads = "runtime threads: " + applied.map { a in
                let asked = a.requested?.listString ?? "any"
                let got = a.verified?.listString ?? "-"
                return "\(a.thread) asked \(asked) got \(got) on cpu \(a.observedCPU)" + (a.error.map { " (\($0))" } ?? "")
            }.joined(separator: "; ")
            context.placementNote = [context.placementNote, threads].compactMap { $0 }.joined(separator: "; ")
        }
        var counters: [String: UInt64] = [:]
        for (k, v) in Runtime.counters.asDictionary() { counters["runtime_\(k)"] = v }
        // Same histogram geometry as the lab's recorder: the buckets transfer exactly.
        for (name, h) in Runtime.preemptionBreakdown.asDictionary() where h.totalCount > 0 {
            context.runtimeHistograms[name] = try LatencyRecorder(buckets: h.recordedValues().map { [$0.value, $0.count] })
        }
        return (try result.get(), counters)
    }

    /// Absolute-deadline sleep for goroutines: the runtime's timers are relative, so the
    /// remaining time is computed at the last moment, as a Go program would with time.Until.
    static func sleep(until deadline: UInt64) {
        let now = MonotonicClock.now()
        if deadline > now { Timeslice.sleep(nanoseconds: deadline - now) }
    }
}
