// What a child reports to its parent: one line on stdout, `TIMESLICE-OUTCOME <json>`. The
// prefix lets the parent find the outcome even if a workload or the runtime printed something
// else on stdout; the last such line wins.
//
// Progress markers on stderr (`timeslice-child: started`, `timeslice-child: probe ran`) let the
// parent tell, after killing a hung child, whether its probe had ever run (starved) or not.
import Foundation
import TimesliceHost

public enum ConfigStatus: String, Codable, CaseIterable, Sendable {
    case ok, starved, timeout, error, unavailable
}

public struct ChildOutcome: Codable, Sendable {
    public var status: ConfigStatus
    public var reason: String?
    /// Non-empty histogram buckets, see `LatencyRecorder.buckets`.
    public var latencyBuckets: [[UInt64]]
    public var latencyClamped: UInt64
    /// Periodic probes: one sample per wake-up (`latency_raw_ns`).
    public var rawLatencyBuckets: [[UInt64]]?
    /// Periodic probes: what the sampling amounted to (intended, missed, censored).
    public var sampling: SamplingAccount?
    /// Decomposition histograms by name (WorkloadResult.histograms), as buckets.
    public var histograms: [String: [[UInt64]]]
    public var counters: [String: UInt64]
    public var placement: PlacementReport?
    /// Every thread of the child at the end of the workload: switches and migrations.
    public var threads: [ThreadActivity]

    enum CodingKeys: String, CodingKey {
        case status, reason, latencyBuckets = "latency_buckets", latencyClamped = "latency_clamped"
        case rawLatencyBuckets = "raw_latency_buckets", sampling, histograms
        case counters, placement, threads
    }

    public init(status: ConfigStatus, reason: String? = nil, latency: LatencyRecorder? = nil,
                counters: [String: UInt64] = [:], placement: PlacementReport? = nil) {
        self.status = status
        self.reason = reason
        latencyBuckets = latency?.buckets ?? []
        latencyClamped = latency?.clamped ?? 0
        histograms = [:]
        self.counters = counters
        self.placement = placement
        threads = []
    }

    /// A workload's whole result: distributions, sampling account and counters.
    public init(status: ConfigStatus, reason: String? = nil, result: WorkloadResult, placement: PlacementReport? = nil) {
        self.init(status: status, reason: reason, latency: result.latency, counters: result.counters, placement: placement)
        rawLatencyBuckets = result.rawLatency?.buckets
        sampling = result.sampling
        histograms = result.histograms.mapValues(\.buckets)
    }

    public static let linePrefix = "TIMESLICE-OUTCOME "
    public static let startedMarker = "timeslice-child: started"
    public static let probeRanMarker = "timeslice-child: probe ran"

    public func line() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        // Encoding our own plain structs cannot fail.
        let json = String(decoding: try! enc.encode(self), as: UTF8.self)
        return Self.linePrefix + json + "\n"
    }

    /// The last outcome line in `stdout`, or nil when there is none or it does not decode.
    public static func parse(stdout: Data) -> ChildOutcome? {
        let text = String(decoding: stdout, as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix(linePrefix) }) else { return nil }
        return try? JSONDecoder().decode(ChildOutcome.self, from: Data(line.dropFirst(linePrefix.count).utf8))
    }
}
