// Runs one configuration in a child and turns whatever happened into a `ConfigResult`.
// Every failure mode is a status, never an exception that would stop the sweep:
//   outcome line present          -> the child's status (ok, starved, unavailable, error)
//   killed by the watchdog        -> timeout, or starved when the child had started its
//                                    workload but its probe never ran (stderr markers)
//   crashed / exited without line -> error, with the exit code or signal and stderr's tail
import Foundation
import Histogram
import TimesliceHost

public struct ConfigRun: Sendable {
    public var result: ConfigResult
    /// `latency_ns` (corrected for periodic probes), for the .hgrm and for merging repetitions.
    public var histogram: Histogram<UInt64>?
    /// `latency_raw_ns` of periodic probes.
    public var rawHistogram: Histogram<UInt64>? = nil
    /// Child stderr to keep beside the results (schedtrace lines), keyed by file kind.
    public var extraFiles: [String: String]
    /// Files the child wrote itself into the run directory (the trace), kind → path.
    public var childFiles: [String: String] = [:]
    /// The runner was interrupted (SIGINT/SIGTERM/SIGHUP) while this configuration ran and
    /// killed it: the result is not a measurement and the sweep does not record it.
    public var interrupted = false
}

public enum ConfigRunner {
    /// `traceFile`: where the child's runtime should write its trace (nil: no trace); listed in
    /// `childFiles` when the child exited by itself and wrote it, whatever the status it reported.
    public static func run(_ configuration: RunConfiguration, launcher: ChildLauncher,
                           deadlineNanoseconds: UInt64, traceFile: String? = nil) -> ConfigRun {
        var exitedNormally = false
        var run = runChild(configuration, launcher: launcher, deadlineNanoseconds: deadlineNanoseconds, traceFile: traceFile,
                           exitedNormally: &exitedNormally)
        // A child killed by the watchdog or a signal may have been writing it: never list half a file.
        if let traceFile, ChildTrace.collect(traceFile, complete: exitedNormally) { run.childFiles["trace"] = traceFile }
        if let traceFile {
            let requests = ChildTrace.requestLogPath(forTrace: traceFile)
            if ChildTrace.collect(requests, complete: exitedNormally) { run.childFiles["requests"] = requests }
        }
        return run
    }

    static func runChild(_ configuration: RunConfiguration, launcher: ChildLauncher,
                         deadlineNanoseconds: UInt64, traceFile: String?, exitedNormally: inout Bool) -> ConfigRun {
        var result = ConfigResult(
            id: configuration.id, config: ConfigEcho(point: configuration.point, workload: configuration.workload),
            status: .error, reason: nil, latencyNs: nil, counters: [:], placement: nil,
            repetition: configuration.repetition, elapsedSeconds: 0, files: [:])
        let child: ChildProcessResult
        let before = HostActivitySnapshot.capture()
        do {
            var cmd = try launcher.command(for: configuration)
            ChildTrace.request(traceFile, in: &cmd.environment)
            child = try ChildProcess.run(executable: cmd.executable, arguments: cmd.arguments,
                                         environment: cmd.environment, deadlineNanoseconds: deadlineNanoseconds)
        } catch {
            result.reason = "could not start the child: \(error)"
            return ConfigRun(result: result, histogram: nil, extraFiles: [:])
        }
        if child.interrupted {
            result.reason = "interrupted by signal \(Interrupt.received ?? 0)"
            var run = ConfigRun(result: result, histogram: nil, extraFiles: [:])
            run.interrupted = true
            return run
        }
        let host = HostInterference.between(before, HostActivitySnapshot.capture())
        result.interference = ConfigInterference(host: host, threads: [], child: child.usage, warnings: host.warnings)
        result.elapsedSeconds = Double(child.elapsedNanoseconds) / 1e9
        exitedNormally = !child.timedOut && child.termination == .exited(0)
        let stderr = String(decoding: child.stderr, as: UTF8.self)
        var extra: [String: String] = [:]
        if configuration.schedtraceMilliseconds != nil {
            let sched = stderr.split(separator: "\n").filter { $0.hasPrefix("SCHED") }.joined(separator: "\n")
            if !sched.isEmpty { extra["schedtrace"] = sched + "\n" }
        }

        if child.timedOut {
            let started = stderr.contains(ChildOutcome.startedMarker)
            let probeRan = stderr.contains(ChildOutcome.probeRanMarker)
            let secs = String(format: "%.1f", Double(deadlineNanoseconds) / 1e9)
            if started && !probeRan && child.elapsedNanoseconds >= configuration.starvationTimeoutNanoseconds {
                result.status = .starved
                result.reason = "probe never ran; the child was killed by the watchdog after \(secs) s"
            } else {
                result.status = .timeout
                result.reason = "killed by the watchdog after \(secs) s"
            }
            return ConfigRun(result: result, histogram: nil, extraFiles: extra)
        }

        guard let outcome = ChildOutcome.parse(stdout: child.stdout) else {
            let how: String
            switch child.termination {
            case .exited(let code): how = "child exited with code \(code) without an outcome"
            case .signaled(let sig): how = "child killed by signal \(sig) (\(String(cString: strsignal(sig))))"
            }
            result.reason = how + tail(stderr)
            return ConfigRun(result: result, histogram: nil, extraFiles: extra)
        }
        result.status = outcome.status
        result.reason = outcome.reason
        result.counters = outcome.counters
        result.placement = outcome.placement
        result.sampling = outcome.sampling
        result.interference?.threads = outcome.threads
        var run = ConfigRun(result: result, histogram: nil, extraFiles: extra)
        let censored = outcome.sampling?.censored ?? false
        do {
            let rec = try LatencyRecorder(buckets: outcome.latencyBuckets, clamped: outcome.latencyClamped)
            if rec.count > 0 {
                run.histogram = rec.histogram
                run.result.latencyNs = PercentileSummary(rec.histogram, censored: censored)
                if rec.clamped > 0 { run.result.counters["latency_clamped_at_60s"] = rec.clamped }
            }
            if let raw = outcome.rawLatencyBuckets {
                let r = try LatencyRecorder(buckets: raw)
                run.rawHistogram = r.histogram
                if r.count > 0 { run.result.latencyRawNs = PercentileSummary(r.histogram, censored: censored) }
            }
            for (name, buckets) in outcome.histograms {
                let h = try LatencyRecorder(buckets: buckets)
                run.result.histograms[name] = PercentileSummary(h.histogram)
            }
        } catch {
            run.result.status = .error
            run.result.reason = "child sent a bad histogram: \(error)"
        }
        return run
    }

    /// The last lines of stderr without our own markers, for error reasons.
    static func tail(_ stderr: String) -> String {
        let lines = stderr.split(separator: "\n").filter { !$0.hasPrefix("timeslice-child:") && !$0.hasPrefix("SCHED") }
        guard !lines.isEmpty else { return "" }
        return ": " + lines.suffix(5).joined(separator: " | ")
    }
}
