// The numbers reported for one latency distribution (results.json `latency_ns`, summary.csv,
// the table). All are computed from the one histogram, so JSON, CSV and .hgrm agree by
// construction.
//
// A percentile is reported only where the sample count supports it: the q-quantile needs at
// least 1 / (1 − q) samples (p50: 2, p90: 10, p99: 100, p99.9: 1 000, p99.99: 10 000);
// otherwise it is nil (JSON null, "—" in tables), because with fewer samples it would only
// repeat the maximum. `censored` marks a distribution that holds lower bounds (a stalled
// probe, see PeriodicSampling): every percentile is then "at least".
import Histogram

public struct PercentileSummary: Codable, Equatable, Sendable {
    public var count: UInt64
    public var mean: Double
    public var stddev: Double
    public var min: UInt64
    public var p50: UInt64?
    public var p90: UInt64?
    public var p99: UInt64?
    public var p999: UInt64?
    public var p9999: UInt64?
    public var max: UInt64
    /// max - min: the spread cyclictest users call jitter.
    public var jitterMaxMin: UInt64
    /// p99 - p50: jitter without the single worst outlier (nil where p99 is).
    public var jitterP99P50: UInt64?
    public var censored: Bool

    enum CodingKeys: String, CodingKey {
        case count, mean, stddev, min, p50, p90, p99, p999, p9999, max
        case jitterMaxMin = "jitter_max_min", jitterP99P50 = "jitter_p99_p50", censored
    }

    /// The percentiles with their levels and the smallest sample count that supports each.
    public static let levels: [(key: String, percentile: Double, minimumCount: UInt64)] = [
        ("p50", 50, 2), ("p90", 90, 10), ("p99", 99, 100), ("p999", 99.9, 1_000), ("p9999", 99.99, 10_000),
    ]

    /// The column order of summary.csv and the JSON keys, shared so they cannot drift apart.
    public static let columns = ["count", "mean", "stddev", "min", "p50", "p90", "p99", "p999", "p9999", "max",
                                 "jitter_max_min", "jitter_p99_p50", "censored"]

    public init(_ h: Histogram<UInt64>, censored: Bool = false) {
        count = h.totalCount
        self.censored = censored
        guard count > 0 else {
            mean = 0; stddev = 0; min = 0; max = 0; jitterMaxMin = 0
            return
        }
        mean = h.mean
        stddev = h.stdDeviation
        min = h.min
        max = h.max
        let n = count
        func at(_ i: Int) -> UInt64? {
            n >= Self.levels[i].minimumCount ? h.valueAtPercentile(Self.levels[i].percentile) : nil
        }
        p50 = at(0); p90 = at(1); p99 = at(2); p999 = at(3); p9999 = at(4)
        jitterMaxMin = max - min
        jitterP99P50 = p99.flatMap { p99 in p50.map { p99 - $0 } }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decode(UInt64.self, forKey: .count)
        mean = try c.decode(Double.self, forKey: .mean)
        stddev = try c.decode(Double.self, forKey: .stddev)
        min = try c.decode(UInt64.self, forKey: .min)
        p50 = try c.decodeIfPresent(UInt64.self, forKey: .p50)
        p90 = try c.decodeIfPresent(UInt64.self, forKey: .p90)
        p99 = try c.decodeIfPresent(UInt64.self, forKey: .p99)
        p999 = try c.decodeIfPresent(UInt64.self, forKey: .p999)
        p9999 = try c.decodeIfPresent(UInt64.self, forKey: .p9999)
        max = try c.decode(UInt64.self, forKey: .max)
        jitterMaxMin = try c.decode(UInt64.self, forKey: .jitterMaxMin)
        jitterP99P50 = try c.decodeIfPresent(UInt64.self, forKey: .jitterP99P50)
        censored = try c.decodeIfPresent(Bool.self, forKey: .censored) ?? false
    }

    /// Unsupported percentiles are written as null (not left out), so readers see the key and
    /// know it was withheld rather than forgotten.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        try c.encode(mean, forKey: .mean)
        try c.encode(stddev, forKey: .stddev)
        try c.encode(min, forKey: .min)
        try c.encode(p50 as UInt64?, forKey: .p50)
        try c.encode(p90 as UInt64?, forKey: .p90)
        try c.encode(p99 as UInt64?, forKey: .p99)
        try c.encode(p999 as UInt64?, forKey: .p999)
        try c.encode(p9999 as UInt64?, forKey: .p9999)
        try c.encode(max, forKey: .max)
        try c.encode(jitterMaxMin, forKey: .jitterMaxMin)
        try c.encode(jitterP99P50 as UInt64?, forKey: .jitterP99P50)
        try c.encode(censored, forKey: .censored)
    }

    /// The value of a percentile key ("p99"), nil when unsupported or unknown.
    public func value(_ key: String) -> UInt64? {
        switch key {
        case "p50": return p50
        case "p90": return p90
        case "p99": return p99
        case "p999": return p999
        case "p9999": return p9999
        case "max": return max
        case "min": return min
        default: return nil
        }
    }

    public var csvFields: [String] {
        func opt(_ v: UInt64?) -> String { v.map(String.init) ?? "" }
        return [String(count), String(format: "%.1f", mean), String(format: "%.1f", stddev), String(min), opt(p50),
                opt(p90), opt(p99), opt(p999), opt(p9999), String(max), String(jitterMaxMin), opt(jitterP99P50),
                censored ? "true" : "false"]
    }
}
