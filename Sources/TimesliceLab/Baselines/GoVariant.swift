// The `go` runtime of a workload: runs the Go reference program as this child's own child, with
// the configuration's parameters, and maps its result (GoResult).
//
//   1. GoInvocation: flags and GOMAXPROCS/GODEBUG; unsupported combinations are `unavailable`.
//   2. GoReferenceProgram: the binary (built from baselines/go when needed); no `go` means
//      `unavailable: go not installed`.
//   3. Placement: the process CPU set through taskset (the Go program reports its mask back).
//   4. The program runs with `-beacon` (its probe's progress, relayed to our starvation
//      monitor) and `-samples` (every sample, recorded into our histogram), under a deadline
//      shorter than the parent's watchdog, so a hung Go program is an `error` with its stderr.
//   5. A probe starved in Go is reported `starved` by our monitor, which sees the relayed
//      progress stop at the same moment the Go hogs do (they watch the same silence).
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

enum GoVariant {
    static func run(_ context: WorkloadContext) throws -> WorkloadResult {
        let config = context.configuration
        let invocation = try GoInvocation.make(config)
        let binary = try GoReferenceProgram.binary(progress: context.progress)
        let cpus = try ProcessPlacement.cpus(context, workers: invocation.workers)

        let scratch = try ScratchDirectory("timeslice-go")
        let beacon = try SharedCounterFile(path: scratch.file("beacon"))
        let samples = scratch.file("samples.txt")
        let events = scratch.file("events.txt")
        var argv = [binary, invocation.workload] + invocation.arguments + ["-beacon", beacon.path, "-samples", samples]
        let isWakeup = config.workload.parameters(as: WakeupParameters.self) != nil
        if isWakeup {
            argv += ["-events", events]
            // The probe goroutine is locked to its thread; pin that thread as the threads
            // probe's worker 0 (the process set below keeps the other Ms where the hogs go).
            if let probeCPUs = try ThreadPinning.resolve(config.placement, threads: invocation.workers,
                                                         host: HostSnapshot.capture()).plan?.cpusForWorker(0) {
                argv += ["-probe_cpus", probeCPUs.listString]
            }
        }
        if let cpus {
            guard let taskset = Variants.locate("taskset") else {
                throw WorkloadFailure("placement \(config.placement.idText) for go needs taskset (util-linux), which is not in PATH")
            }
            argv = [taskset, "-c", cpus.listString] + argv
        }
        let child = try ProgressRelay.whileRunning(context.progress, mirroring: beacon) {
            try ChildProcess.run(executable: argv[0], arguments: Array(argv.dropFirst()),
                                 environment: invocation.processEnvironment(from: ProcessInfo.processInfo.environment),
                                 deadlineNanoseconds: deadline(config))
        }
        let stderr = String(decoding: child.stderr, as: UTF8.self)
        let tail = stderr.split(separator: "\n").suffix(5).joined(separator: " | ")
        if child.timedOut {
            throw WorkloadFailure("the Go program was killed after \(deadline(config) / 1_000_000_000) s: \(tail)")
        }
        guard child.termination == .exited(0) else {
            throw WorkloadFailure("the Go program ended with \(child.termination): \(tail)")
        }
        let samplesText = try? String(contentsOfFile: samples, encoding: .utf8)
        let eventsText = isWakeup ? try? String(contentsOfFile: events, encoding: .utf8) : nil
        var iterations: Int?
        if case .iterations(let n) = config.length { iterations = n }
        var note = "go: " + invocation.commandLine(binary: binary, cpus: cpus?.listString)
        switch try GoResult.map(stdout: child.stdout, samples: samplesText, events: eventsText, iterations: iterations) {
        case .measured(let result, let goNote):
            note += "; " + goNote
            if let cpus, let allowed = try? JSONDecoder().decode(GoOutput.self, from: child.stdout).cpusAllowed,
               CPUSet(allowed) != cpus {
                note += "; NOT verified: asked for \(cpus.listString)"
            }
            context.placementNote = note
            return result
        case .starved(let reason, let goNote, let result?):
            context.placementNote = note + "; " + goNote
            throw WorkloadStalled(reason: "the Go probe starved: \(reason)", result: result)
        case .starved(let reason, _, nil):
            // Our monitor saw the relayed progress stop when the Go probe did; it reports
            // `starved` (and ends this process) within a poll or two. Give it the full timeout.
            usleep(UInt32(min(config.starvationTimeoutNanoseconds / 1_000 + 2_000_000, UInt64(UInt32.max))))
            throw WorkloadFailure("the Go program reported its probe starved (\(reason)) but the lab's monitor did not")
        }
    }

    /// The measured time plus warm-up, the starvation timeout and 5 s for start and exit: less
    /// than the parent's derived watchdog (2 × (warm-up + duration) + timeout + 10 s).
    static func deadline(_ c: RunConfiguration) -> UInt64 {
        let measured: UInt64
        switch c.length {
        case .duration(let d): measured = d
        case .iterations: measured = 100_000_000_000
        }
        return c.warmupNanoseconds + measured + c.starvationTimeoutNanoseconds + 5_000_000_000
    }
}
