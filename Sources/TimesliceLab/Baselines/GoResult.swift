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
        var p50: UInt64
        var p99: UInt64
        var max: UInt64
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

    enum CodingKeys: String, CodingKey {
        case workload, status, reason, gomaxprocs, godebug, values, warnings
        case goVersion = "go_version", asyncPreemption = "async_preemption", cpusAllowed = "cpus_allowed"
        case numCPU = "num_cpu", latencyMeaning = "latency_meaning", latencyNs = "latency_ns"
    }
}

enum GoResult {
    /// What one run of the Go program amounts to.
    enum Outcome {
        case measured(WorkloadResult, note: String)
        /// The Go program's probe starved (its hogs noticed and stopped); the reason is Go's.
        case starved(reason: String, note: String)
    }

    /// Maps stdout of the Go program and the text of its `-samples` file (nil: not written).
    static func map(stdout: Data, samples: String?) throws -> Outcome {
        let out: GoOutput
        do {
            out = try JSONDecoder().decode(GoOutput.self, from: stdout)
        } catch {
            throw WorkloadFailure("the Go program's output is not its JSON (\(error)): \(String(decoding: stdout.prefix(300), as: UTF8.self))")
        }
        let note = self.note(out)
        switch out.status {
        case "ok": break
        case "starved": return .starved(reason: out.reason ?? "the Go probe starved", note: note)
        default: throw WorkloadFailure("the Go program reported status \(out.status): \(out.reason ?? "")")
        }
        var rec = LatencyRecorder()
        if let samples { rec = try recorder(samples) }
        let expected = out.latencyNs?.count ?? 0
        guard rec.count == expected else {
            throw WorkloadFailure("the Go program reported \(expected) samples but its samples file holds \(rec.count)")
        }
        var counters: [String: UInt64] = [:]
        for (k, v) in out.values ?? [:] where v.isFinite { counters[k] = v <= 0 ? 0 : UInt64(v.rounded()) }
        counters["go_gomaxprocs"] = UInt64(max(out.gomaxprocs, 0))
        counters["go_num_cpu"] = UInt64(max(out.numCPU, 0))
        counters["go_async_preemption"] = out.asyncPreemption ? 1 : 0
        if let s = out.latencyNs {
            counters["go_exact_p50_ns"] = s.p50
            counters["go_exact_p99_ns"] = s.p99
            counters["go_exact_max_ns"] = s.max
        }
        return .measured(WorkloadResult(latency: rec, counters: counters), note: note)
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
