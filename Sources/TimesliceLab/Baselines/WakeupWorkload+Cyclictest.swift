// The `cyclictest` runtime of the wakeup workload: rt-tests' cyclictest measuring what the
// `threads` probe measures, under the same conditions, as a cross-check of the lab's numbers
// (experiments/cyclictest-crosscheck.json). Same conditions means:
//   interval   -i <interval in µs> -d 0 (one thread, no per-thread offset); absolute
//              CLOCK_MONOTONIC deadlines, missed periods skipped, as the lab's probe
//   priority   SCHED_OTHER, nice 0: no -p, so cyclictest does not switch to SCHED_FIFO
//   affinity   cyclictest is started from a thread pinned as the threads probe's worker 0 and
//              inherits that mask (no -a, which would pick one CPU of a multi-CPU set)
//   slack      the starting thread's timer slack is 1 ns, inherited across exec, as the probe's
//   system     --default-system: no /dev/cpu_dma_latency request, which the lab does not make
//   warm-up    cycles whose deadline falls inside the warm-up are discarded
//   length     -l <cycles>: warm-up plus duration (or iterations) in periods
// Each sample comes from verbose output (-v -N: nanoseconds, see CyclictestOutput).
#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension WakeupWorkload {
    func runCyclictest(_ context: WorkloadContext) throws -> WorkloadResult {
        let config = context.configuration
        guard p.hogs == 0 else {
            throw WorkloadUnavailable("cyclictest runs a probe alone; this wakeup workload has \(p.hogs) hogs")
        }
        guard p.intervalNanoseconds % 1_000 == 0 else {
            throw WorkloadUnavailable("cyclictest intervals are whole microseconds; \(DurationText.render(p.intervalNanoseconds)) is not")
        }
        guard let tool = Variants.locate("cyclictest") else { throw Variants.notInstalled("cyclictest", package: "rt-tests") }
        let plan = Self.cyclictestPlan(p, config)
        let pinning = try context.pin(threads: 1)
        var run: Result<ChildProcessResult, Error>!
        ProgressRelay.whileRunning(context.progress, mirroring: nil) {
            let starter = OSThread(name: "cyclictest") {
                pinning.pinCurrentThread(worker: 0)
                TimerSlack.minimizeForCurrentThread()
                run = Result {
                    try ChildProcess.run(executable: tool, arguments: plan.arguments, environment: ProcessInfo.processInfo.environment,
                                         deadlineNanoseconds: plan.cycles * p.intervalNanoseconds + 10_000_000_000)
                }
            }
            starter.join()
        }
        let child = try run.get()
        let stderr = String(decoding: child.stderr, as: UTF8.self)
        let tail = stderr.split(separator: "\n").suffix(3).joined(separator: " | ")
        guard !child.timedOut, child.termination == .exited(0) else {
            throw WorkloadFailure("cyclictest \(child.timedOut ? "timed out" : "ended with \(child.termination)"): \(tail)")
        }
        let output = try CyclictestOutput(parsing: String(decoding: child.stdout, as: UTF8.self))
        context.placementNote = "cyclictest \(plan.arguments.joined(separator: " ")), started from worker 0's thread (affinity and 1 ns timer slack inherited)"
            + (tail.isEmpty ? "" : "; cyclictest said: \(tail)")
        return try Self.cyclictestResult(output, plan: plan, intervalNanoseconds: p.intervalNanoseconds)
    }

    struct CyclictestPlan: Equatable {
        var arguments: [String]
        /// Cycles in total, and how many of the first ones are warm-up.
        var cycles: UInt64
        var warmupCycles: UInt64
        /// With an iteration budget: samples to keep after warm-up.
        var keep: UInt64?
    }

    /// Cycle k (0-based) has deadline start + (k+1) × interval; it is warm-up while that is
    /// before start + warm-up, as in the lab's probe.
    static func cyclictestPlan(_ p: WakeupParameters, _ c: RunConfiguration) -> CyclictestPlan {
        let interval = p.intervalNanoseconds
        let warmupCycles = c.warmupNanoseconds == 0 ? 0 : (c.warmupNanoseconds - 1) / interval
        var keep: UInt64?
        let measured: UInt64
        switch c.length {
        case .duration(let d): measured = max(d / interval, 1)
        case .iterations(let n): measured = UInt64(n); keep = UInt64(n)
        }
        let cycles = warmupCycles + measured
        return CyclictestPlan(arguments: ["-v", "-N", "-t", "1", "-d", "0", "-i", String(interval / 1_000),
                                          "-l", String(cycles), "--default-system"],
                              cycles: cycles, warmupCycles: warmupCycles, keep: keep)
    }

    static func cyclictestResult(_ output: CyclictestOutput, plan: CyclictestPlan, intervalNanoseconds: UInt64) throws -> WorkloadResult {
        let thread0 = output.samples.filter { $0.thread == 0 }
        guard !thread0.isEmpty else { throw WorkloadFailure("cyclictest printed no samples") }
        if let reported = output.intervalsMicroseconds[0], reported * 1_000 != intervalNanoseconds {
            throw WorkloadFailure("cyclictest ran thread 0 at \(reported) µs, not \(intervalNanoseconds / 1_000) µs")
        }
        var rec = LatencyRecorder()
        var warmup: UInt64 = 0
        var missed: UInt64 = 0
        for s in thread0 {
            if s.cycle < plan.warmupCycles { warmup += 1; continue }
            if let keep = plan.keep, rec.count >= keep { break }
            rec.record(s.latencyNanoseconds)
            // cyclictest skips the periods it overran, as the lab's probe; count them alike.
            if s.latencyNanoseconds > 0 { missed += (s.latencyNanoseconds - 1) / intervalNanoseconds }
        }
        return WorkloadResult(latency: rec, counters: [
            "samples_warmup_discarded": warmup, "missed_periods": missed,
            "cyclictest_cycles": UInt64(thread0.count), "cyclictest_cycles_planned": plan.cycles,
        ])
    }
}
