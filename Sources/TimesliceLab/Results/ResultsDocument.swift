// results.json, schema_version 1. One document per sweep: written when the sweep starts (the index,
// `configs: []`) and whole at its end or interruption; configs/<stem>.json in between (ResultsWriter).
import Foundation
import TimesliceHost

public struct ConfigResult: Codable, Sendable {
    public var id: String
    /// The matrix point (only the axes that apply to its runtime) plus the workload.
    public var config: ConfigEcho
    public var status: ConfigStatus
    public var reason: String?
    /// Present when at least one sample was recorded. For periodic probes: the corrected
    /// distribution, one sample per intended deadline (PeriodicSampling).
    public var latencyNs: PercentileSummary?
    /// Periodic probes: one sample per wake-up (cyclictest's definition).
    public var latencyRawNs: PercentileSummary?
    /// Periodic probes: intended, recorded and missed samples; censoring.
    public var sampling: SamplingAccount?
    /// Distributions that decompose the latency (queue wait, signal delivery, ...), by name.
    public var histograms: [String: PercentileSummary] = [:]
    public var counters: [String: UInt64]
    public var placement: PlacementReport?
    /// 1-based repetition number.
    public var repetition: Int
    public var elapsedSeconds: Double
    /// File names, relative to the run directory, of this configuration's extra files.
    public var files: [String: String]
    /// What could have disturbed this configuration (host activity, the child's threads).
    public var interference: ConfigInterference?
    /// 0-based position of this run in the sweep (repetitions are interleaved).
    public var order: Int?
    /// The host that ran it, in a run merged from shards (`timeslice merge`); nil otherwise.
    public var host: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, config, status, reason, latencyNs = "latency_ns", latencyRawNs = "latency_raw_ns", sampling
        case histograms, counters, placement, repetition
        case elapsedSeconds = "elapsed_seconds", files, interference, order, host
    }

    /// Written, never read back: `disturbed` is derived from the fields above each time the
    /// result is encoded (Disturbance.reasons), so results.json, configs/<id>.json, the
    /// summary table and the notebooks' marks all say the same, and a file written before
    /// the field existed gets it when `resume` or `merge` rewrites it.
    enum DerivedKeys: String, CodingKey { case disturbed }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(config, forKey: .config)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(latencyNs, forKey: .latencyNs)
        try c.encodeIfPresent(latencyRawNs, forKey: .latencyRawNs)
        try c.encodeIfPresent(sampling, forKey: .sampling)
        try c.encode(histograms, forKey: .histograms)
        try c.encode(counters, forKey: .counters)
        try c.encodeIfPresent(placement, forKey: .placement)
        try c.encode(repetition, forKey: .repetition)
        try c.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try c.encode(files, forKey: .files)
        try c.encodeIfPresent(interference, forKey: .interference)
        try c.encodeIfPresent(order, forKey: .order)
        try c.encodeIfPresent(host, forKey: .host)
        var derived = encoder.container(keyedBy: DerivedKeys.self)
        try derived.encodeIfPresent(Disturbance.reasons(self), forKey: .disturbed)
    }
}

/// Per configuration: the host's activity while it ran, the child's threads at the end of the
/// workload (switches, migrations) and what the kernel accounted to the child process tree.
public struct ConfigInterference: Codable, Sendable {
    public var host: HostInterference
    public var threads: [ThreadActivity]
    public var child: ChildUsage
    public var warnings: [String]
}

public struct ConfigEcho: Codable, Sendable {
    public var point: MatrixPoint
    public var workload: WorkloadSpec
}

public struct ResultsDocument: Codable, Sendable {
    public static let schemaVersion = 1

    public var schemaVersion = ResultsDocument.schemaVersion
    public var experiment: String
    /// The experiment file as written.
    public var spec: JSONValue
    public var environment: HostEnvironment
    /// Warnings about what this run can mean on this host (e.g. "CPU 3 is not isolated").
    public var warnings: [String]
    /// What the latency histogram measures for this workload.
    public var latencyMeaning: String
    public var startedAt: String
    public var finishedAt: String?
    /// True when the runner was stopped by SIGINT/SIGTERM/SIGHUP: `configs` holds the
    /// configurations that finished before the signal (the one it killed is not recorded).
    public var interrupted: Bool? = false
    /// Command-line options that changed the spec (--quick, --repeat, --only).
    public var options: [String: String]
    /// Planned number of configuration runs; `configs.count < planned` means interrupted.
    public var planned: Int
    public var configs: [ConfigResult]

    /// Who ran what, where, with which build and tools (Provenance).
    public var provenance: Provenance?
    /// The spec as it actually ran, after --quick/--repeat/--only (same schema as `spec`).
    public var effectiveSpec: JSONValue?
    /// How repetitions were ordered, e.g. "round-robin: every configuration once per round".
    public var repetitionOrder: String?
    /// Across repetitions, one per configuration id with more than one repetition.
    public var aggregates: [ConfigAggregate] = []
    /// Cross-checks between rows that measure the same thing with different instruments.
    public var crosschecks: [CrossCheckVerdict] = []
    /// Every knob with its value and where it came from: "cli", "env TIMESLICE_PREEMPT",
    /// "file" or "default" (EffectiveConfiguration).
    public var effective: [String: EffectiveKnob]? = nil
    /// When `timeslice resume` continued this run (UTC, ISO 8601), oldest first.
    public var resumedAt: [String]? = nil
    /// A run merged from shards: each shard's directory and host, and each host's environment.
    public var mergedFrom: [MergedShard]? = nil
    /// The run happened inside a qemu guest (`timeslice run --guest`): profile, accelerator,
    /// kernel command line, boot time. Under TCG (`guest.emulated`) timings mean nothing.
    public var guest: GuestRecord? = nil

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", experiment, spec, environment, warnings
        case latencyMeaning = "latency_meaning", startedAt = "started_at", finishedAt = "finished_at", interrupted
        case options, planned, configs, provenance, effectiveSpec = "effective_spec"
        case repetitionOrder = "repetition_order", aggregates, crosschecks, effective
        case resumedAt = "resumed_at", mergedFrom = "merged_from", guest
    }
}
