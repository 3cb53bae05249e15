// results.json, schema_version 1. One document per sweep, rewritten after every configuration.
import Foundation
import TimesliceHost

public struct ConfigResult: Codable, Sendable {
    public var id: String
    /// The matrix point (only the axes that apply to its runtime) plus the workload.
    public var config: ConfigEcho
    public var status: ConfigStatus
    public var reason: String?
    /// Present when at least one sample was recorded.
    public var latencyNs: LatencySummary?
    public var counters: [String: UInt64]
    public var placement: PlacementReport?
    /// 1-based repetition number.
    public var repetition: Int
    public var elapsedSeconds: Double
    /// File names, relative to the run directory, of this configuration's extra files.
    public var files: [String: String]

    enum CodingKeys: String, CodingKey {
        case id, config, status, reason, latencyNs = "latency_ns", counters, placement, repetition
        case elapsedSeconds = "elapsed_seconds", files
    }
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
    /// Command-line options that changed the spec (--quick, --repeat, --only).
    public var options: [String: String]
    /// Planned number of configuration runs; `configs.count < planned` means interrupted.
    public var planned: Int
    public var configs: [ConfigResult]

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", experiment, spec, environment, warnings
        case latencyMeaning = "latency_meaning", startedAt = "started_at", finishedAt = "finished_at"
        case options, planned, configs
    }
}
