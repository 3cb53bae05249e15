// The `cyclictest` runtime of the wakeup workload: rt-tests' cyclictest measuring what the
// `threads` probe measures, under the same conditions, as a cross-check of the lab's numbers
// (experiments/cyclictest-crosscheck.json, CrossCheck). Same conditions means:
//   interval   -i <interval in µs> -d 0 (one thread); absolute CLOCK_MONOTONIC deadlines
//   priority   SCHED_OTHER, nice 0: no -p, so cyclictest does not switch to SCHED_FIFO
//   affinity   pinned placements: -a <the CPU worker 0 gets> and --mainaffinity on the other
//              allowed CPUs, so the printing main thread never shares the measured CPU.
//              Unpinned: cyclictest 2.x pins its measuring thread to the first CPU of its mask
//              even without -a, so the lab widens that thread's mask to every allowed CPU right
//              after it starts (inside the warm-up) and reads the mask back: the row says so.
//   slack      the starting thread's timer slack is 1 ns, inherited across exec, as every probe's
//   system     --default-system: no /dev/cpu_dma_latency request, which the lab does not make
//   printing   -q while the verbose buffer (16 384 samples) holds the run: nothing is printed
//              until the end; longer runs print as they go, from the main thread
//   length     -l <cycles>: every deadline of warm-up plus window; late cycles skip deadlines,
//              so cyclictest runs at least as long as the window, never shorter
//   accounting the per-cycle latencies are replayed through PeriodicSampling, the same
//              accounting as every other probe (corrected and raw distributions)
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

extension WakeupWorkload {
    /// cyclictest's verbose ring (VALBUF_SIZE in rt-tests): with -q nothing drains it before exit.
    static let cyclictestVerboseBuffer: UInt64 = 16_384

    func runCyclictest(_ context: WorkloadContext) throws -> WorkloadResult {
        let config = context.configuration
        guard p.hogs == 0 else {
            throw WorkloadUnavailable("cyclictest runs a probe alone; this wakeup workload has \(p.hogs) hogs")
        }
        guard p.intervalNanoseconds % 1_000 == 0 else {
            throw WorkloadUnavailable("cyclictest intervals are whole microseconds; \(DurationText.render(p.intervalNanoseconds)) is not")
        }
        guard let tool = Variants.locate("cyclictest") else { throw Variants.notInstalled("cyclictest", package: "rt-tests") }
        // Resolved like the threads probe's worker 0; cyclictest pins itself (-a), and the lab
        // reads its measuring thread's mask back (runtimePlacement) instead of pinning a thread.
        let measuredCPUs = try ThreadPinning.resolve(context.configuration.placement, threads: 1,
                                                     host: HostSnapshot.capture()).plan?.cpusForWorker(0)
        let allowed = HostSnapshot.capture().allowed
        let plan = Self.cyclictestPlan(p, config, measuredCPUs: measuredCPUs, allowedCPUs: allowed)
        var run: Result<ChildProcessResult, Error>!
        var widened: String?
        var observed: CPUSet?
        ProgressRelay.whileRunning(context.progress, mirroring: nil) {
            let starter = OSThread(name: "cyclictest") {
                try? TimerSlack.minimizeForCurrentThread()
                run = Result {
                    try ChildProcess.run(executable: tool, arguments: plan.arguments, environment: ProcessInfo.processInfo.environment,
                                         deadlineNanoseconds: plan.cycles * p.intervalNanoseconds + 10_000_000_000,
                                         onStart: { pid in
                                             if let measuredCPUs {
                                                 observed = Self.measuringThreadMask(pid: pid, expecting: measuredCPUs)
                                             } else {
                                                 widened = Self.unpinMeasuringThread(pid: pid, to: allowed)
                                             }
                                         })
                }
            }
            starter.join()
        }
        let child = try run.get()
        let stderr = String(decoding: child.stderr, as: UTF8.self)
        let tail = stderr.split(separator: "\n").filter { !$0.hasPrefix("WARN: not setting cpu_dma_latency") }
            .suffix(3).joined(separator: " | ")
        guard !child.timedOut, child.termination == .exited(0) else {
            throw WorkloadFailure("cyclictest \(child.timedOut ? "timed out" : "ended with \(child.termination)"): \(tail)")
        }
        let output = try CyclictestOutput(parsing: String(decoding: child.stdout, as: UTF8.self))
        var note = "cyclictest \(plan.arguments.joined(separator: " "))"
        note += measuredCPUs == nil ? "; measuring thread unpinned by the lab: \(widened ?? "not found")" : ""
        if let measuredCPUs {
            context.runtimePlacement = [PinObservation(worker: 0, requested: measuredCPUs.sorted, allowedAfter: observed?.sorted,
                                                       verified: observed == measuredCPUs,
                                                       error: observed == nil ? "cyclictest's measuring thread was not found within 1 s" : nil)]
        }
        context.placementNote = note + (tail.isEmpty ? "" : "; cyclictest said: \(tail)")
        return try Self.cyclictestResult(output, plan: plan, intervalNanoseconds: p.intervalNanoseconds)
    }

    struct CyclictestPlan: Equatable {
        var arguments: [String]
        /// Cycles in total (deadlines of warm-up plus window).
        var cycles: UInt64
        var schedule: ProbeSchedule
    }

    /// Cycle deadlines are replayed on a grid that starts at 0, so the schedule is relative.
    static func cyclictestPlan(_ p: WakeupParameters, _ c: RunConfiguration, measuredCPUs: CPUSet?,
                               allowedCPUs: CPUSet) -> CyclictestPlan {
        let interval = p.intervalNanoseconds
        let schedule: ProbeSchedule
        let cycles: UInt64
        switch c.length {
        case .duration(let d):
            schedule = ProbeSchedule(start: 0, interval: interval, warmupEnd: c.warmupNanoseconds,
                                     end: c.warmupNanoseconds + d, iterations: nil)
            cycles = (c.warmupNanoseconds + d) / interval
        case .iterations(let n):
            schedule = ProbeSchedule(start: 0, interval: interval, warmupEnd: c.warmupNanoseconds, end: nil, iterations: n)
            cycles = c.warmupNanoseconds / interval + UInt64(n)
        }
        var args = ["-v", "-N", "-t", "1", "-d", "0", "-i", String(interval / 1_000), "-l", String(cycles), "--default-system"]
        if cycles <= cyclictestVerboseBuffer { args.append("-q") }
        if let measuredCPUs {
            args += ["-a", measuredCPUs.listString]
            let others = allowedCPUs.subtracting(measuredCPUs)
            if !others.isEmpty { args += ["--mainaffinity", others.listString] }
        }
        return CyclictestPlan(arguments: args, cycles: cycles, schedule: schedule)
    }

    /// Replays thread 0's cycles through the lab's accounting: cycle k woke for the deadline
    /// the previous wake-up scheduled (cyclictest skips overrun periods exactly as the lab does).
    static func cyclictestResult(_ output: CyclictestOutput, plan: CyclictestPlan, intervalNanoseconds: UInt64) throws -> WorkloadResult {
        let thread0 = output.samples.filter { $0.thread == 0 }
        guard !thread0.isEmpty else { throw WorkloadFailure("cyclictest printed no samples") }
        if let reported = output.intervalsMicroseconds[0], reported * 1_000 != intervalNanoseconds {
            throw WorkloadFailure("cyclictest ran thread 0 at \(reported) µs, not \(intervalNanoseconds / 1_000) µs")
        }
        if let last = thread0.last, last.cycle + 1 != UInt64(thread0.count) {
            throw WorkloadFailure("cyclictest printed \(thread0.count) of \(last.cycle + 1) cycles (its verbose buffer overflowed)")
        }
        var sampling = PeriodicSampling(schedule: plan.schedule)
        var deadline: UInt64? = plan.schedule.firstDeadline
        for s in thread0 {
            guard let d = deadline else { break }
            deadline = sampling.wake(deadline: d, at: d + s.latencyNanoseconds)
        }
        if deadline != nil {
            throw WorkloadFailure("cyclictest stopped after \(thread0.count) cycles, before the window's end")
        }
        return WorkloadResult(sampling: sampling, counters: [
            "cyclictest_cycles": UInt64(thread0.count), "cyclictest_cycles_planned": plan.cycles,
        ])
    }

    /// The mask of cyclictest's measuring thread (the second task of `pid`) once it equals
    /// `expected` (cyclictest sets it right after creating the thread), or the last seen after 1 s.
    static func measuringThreadMask(pid: pid_t, expecting expected: CPUSet) -> CPUSet? {
        var last: CPUSet?
        for _ in 0..<1_000 {
            let tids = HostFileSystem.live.list("/proc/\(pid)/task").compactMap { Int32($0) }.filter { $0 != pid }
            if let tid = tids.first, let mask = try? Affinity.get(tid: tid) {
                last = mask
                if mask == expected { return mask }
            }
            usleep(1_000)
        }
        return last
    }

    /// Finds cyclictest's measuring thread (the second task of `pid`) and sets its CPU mask to
    /// `cpus`; returns what the kernel then reports, for the record. Gives up after 1 s.
    static func unpinMeasuringThread(pid: pid_t, to cpus: CPUSet) -> String {
        let fs = HostFileSystem.live
        for _ in 0..<1_000 {
            let tids = fs.list("/proc/\(pid)/task").compactMap { Int32($0) }.filter { $0 != pid }
            if let tid = tids.first {
                do {
                    try Affinity.set(cpus, tid: tid)
                    return "thread \(tid) set to CPUs \(cpus.listString), kernel reports \((try? Affinity.get(tid: tid))?.listString ?? "?")"
                } catch {
                    return "thread \(tid): \(error)"
                }
            }
            usleep(1_000)
        }
        return "no measuring thread appeared within 1 s"
    }
}
