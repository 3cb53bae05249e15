// The Go reference program's output mapped into the lab's result schema.
//
// The Go program prints one JSON object (baselines/go/README.md) and, with `-samples FILE`,
// every sample as "value count" lines. The samples are recorded into the lab's own
// HdrHistogram, so latency_ns, summary.csv and the .hgrm of a `go` row are computed exactly as
// for every other runtime (3 significant digits); the Go program's exact percentiles are kept
// as counters (`go_exact_p50_ns`, ...) to show what the bucketing changed. `values` become
// counters (rounded to integers); what the Go runtime reported about itself (GOMAXPROCS,
// async preemption, allowed CPUs, version, warnings) becomes counters and a note.
import Foundation

/// The JSON object printed by timeslice-go-baseline.
struct GoOutput: Decodable, Equatable {
    struct Summary: Decodable, Equatable {
        var count: UInt64
    }

    struct TimerSlackReadout: Decodable, Equatable {
        var probeThreadNs: UInt64?
        var mainThreadNs: UInt64?
        var threads: [String: UInt64]?

        enum CodingKeys: String, CodingKey {
            case probeThreadNs = "probe_thread_ns", mainThreadNs = "main_thread_ns", threads
        }
    }

    var workload: String
    var status: String
    var reason: String?
    var goVersion: String
    var gomaxprocs: Int
    var godebug: String
    var asyncPreemption: Bool
    var cpusAllowed: [Int]?
    var numCPU: Int
    var latencyMeaning: String
    var latencyNs: Summary?
    var values: [String: Double]?
    var warnings: [String]?
    var timerSlack: TimerSlackReadout?
    var probeCPUsVerified: [Int]?
    var probeCPUObserved: Int?

    enum CodingKeys: String, CodingKey {
        case workload, status, reason, gomaxprocs, godebug, values, warnings
        case timerSlack = "timer_slack", probeCPUsVerified = "probe_cpus_verified", probeCPUObserved = "probe_cpu_observed"
        case goVersion = "go_version", asyncPreemption = "async_preemption", cpusAllowed = "cpus_allowed"
        case numCPU = "num_cpu", latencyMeaning = "latency_meaning", latencyNs = "latency_ns"
    }
}

enum GoResult {
    /// What one run of the Go program amounts to.
    enum Outcome {
        case measured(WorkloadResult, note: String)
        /// The Go program's probe starved (its hogs noticed and stopped); the reason is Go's. With
        /// an events file, `result` holds the samples before the stall, censored.
        case starved(reason: String, note: String, result: WorkloadResult?)
    }

    /// Maps stdout of the Go program and the text of its `-samples` file (nil: not written), or
    /// for the wakeup workload its `-events` file, replayed through the lab's accounting.
    static func map(stdout: Data, samples: String?, events: String? = nil, iterations: Int? = nil) throws -> Outcome {
        let out: GoOutput
        do {
            out = try JSONDecoder().decode(GoOutput.self, from: stdout)
        } catch {
            throw WorkloadFailure("the Go program's output is not its JSON (\(error)): \(String(decoding: stdout.prefix(300), as: UTF8.self))")
        }
        let note = self.note(out)
        switch out.status {
        case "ok": break
        case "starved" where events == nil: return .starved(reason: out.reason ?? "the Go probe starved", note: note, result: nil)
        case "starved": break
        default: throw WorkloadFailure("the Go program reported status \(out.status): \(out.reason ?? "")")
        }
        var counters: [String: UInt64] = [:]
        if let slack = out.timerSlack {
            if let v = slack.probeThreadNs { counters["probe_timer_slack_ns"] = v }
            if let v = slack.mainThreadNs { counters["go_main_thread_timer_slack_ns"] = v }
            if let threads = slack.threads, let worst = threads.values.max() { counters["go_max_thread_timer_slack_ns"] = worst }
        }
        if let cpu = out.probeCPUObserved { counters["probe_cpu_observed"] = UInt64(max(cpu, 0)) }
        var result: WorkloadResult
        if let events {
            let replay = try GoEvents.replay(events, iterations: iterations)
            result = WorkloadResult(sampling: replay.sampling)
            if replay.stalled { return .starved(reason: out.reason ?? "the Go probe starved", note: note, result: result) }
        } else {
            var rec = LatencyRecorder()
            if let samples { rec = try recorder(samples) }
            let expected = out.latencyNs?.count ?? 0
            guard rec.count == expected else {
                throw WorkloadFailure("the Go program reported \(expected) samples but its samples file holds \(rec.count)")
            }
            result = WorkloadResult(latency: rec)
        }
        for (k, v) in out.values ?? [:] where v.isFinite { counters[k] = v <= 0 ? 0 : UInt64(v.rounded()) }
        counters["go_gomaxprocs"] = UInt64(max(out.gomaxprocs, 0))
        counters["go_num_cpu"] = UInt64(max(out.numCPU, 0))
        counters["go_async_preemption"] = out.asyncPreemption ? 1 : 0
        result.counters.merge(counters) { a, _ in a }
        return .measured(result, note: note)
    }

    /// "value count" lines, as written by `-samples`.
    static func recorder(_ text: String) throws -> LatencyRecorder {
        var pairs: [[UInt64]] = []
        var clamped: UInt64 = 0
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let f = line.split(separator: " ")
            guard f.count == 2, let v = UInt64(f[0]), let n = UInt64(f[1]), n > 0 else {
                throw WorkloadFailure("samples file line \(i + 1): expected \"value count\", found \"\(line.prefix(60))\"")
            }
            // As LatencyRecorder.record: beyond 60 s a sample is kept at 60 s and counted.
            if v > LatencyRecorder.highestTrackable { clamped += n }
            pairs.append([min(v, LatencyRecorder.highestTrackable), n])
        }
        return try LatencyRecorder(buckets: pairs, clamped: clamped)
    }

    /// What the Go runtime said about itself, for `placement.note`.
    static func note(_ out: GoOutput) -> String {
        var parts = ["\(out.goVersion), GOMAXPROCS=\(out.gomaxprocs)",
                     out.asyncPreemption ? "async preemption on" : "async preemption off (GODEBUG=\(out.godebug))"]
        if let cpus = out.cpusAllowed { parts.append("cpus_allowed " + cpus.map(String.init).joined(separator: ",")) }
        parts += (out.warnings ?? []).map { "go warning: \($0)" }
        return parts.joined(separator: ", ")
    }
}

/// The Go program's `-events` file (baselines/go/README.md): a `window` line, one
/// `<deadline_ns> <wake_ns>` line per wake-up (absolute CLOCK_MONOTONIC, warm-up included) and,
/// when its probe starved, `stall <detected_at_ns>`. Replayed through PeriodicSampling, so the
/// go row is accounted exactly like every other runtime's.
enum GoEvents {
    struct Replay {
        var sampling: PeriodicSampling
        var wakeups: UInt64
        var stalled: Bool
    }

    /// `iterations`: the run's sample budget when it is an iteration run (the window line then
    /// has end 0).
    static func replay(_ text: String, iterations: Int?) throws -> Replay {
        var lines = text.split(separator: "\n").makeIterator()
        guard let header = lines.next() else { throw WorkloadFailure("the Go events file is empty") }
        let h = header.split(separator: " ")
        guard h.count == 5, h[0] == "window", let start = UInt64(h[1]), let warmupEnd = UInt64(h[2]),
              let end = UInt64(h[3]), let interval = UInt64(h[4]), interval > 0 else {
            throw WorkloadFailure("the Go events file starts with \"\(header.prefix(80))\", not \"window <start> <warmup_end> <end> <interval>\"")
        }
        guard end != 0 || iterations != nil else {
            throw WorkloadFailure("the Go events file describes an iteration run but the configuration has a duration")
        }
        var sampling = PeriodicSampling(schedule: ProbeSchedule(
            start: start, interval: interval, warmupEnd: warmupEnd, end: end == 0 ? nil : end,
            iterations: end == 0 ? iterations : nil))
        var wakeups: UInt64 = 0
        var stall: UInt64?
        var n = 1
        while let line = lines.next() {
            n += 1
            let f = line.split(separator: " ")
            if f.count == 2, f[0] == "stall", let at = UInt64(f[1]) { stall = at; continue }
            guard f.count == 2, let deadline = UInt64(f[0]), let wake = UInt64(f[1]) else {
                throw WorkloadFailure("Go events file line \(n): expected \"<deadline_ns> <wake_ns>\", found \"\(line.prefix(60))\"")
            }
            // The Go probe sleeps to the deadline the accounting expects; anything else means
            // the two loops disagree, which would make the row incomparable.
            guard deadline == sampling.nextDeadline || sampling.isOver else {
                throw WorkloadFailure("Go events file line \(n): deadline \(deadline) where the lab's accounting expects \(sampling.nextDeadline)")
            }
            if sampling.isOver { break }
            _ = sampling.wake(deadline: deadline, at: wake)
            wakeups += 1
        }
        if let stall { sampling.censor(at: stall) }
        return Replay(sampling: sampling, wakeups: wakeups, stalled: stall != nil)
    }
}
