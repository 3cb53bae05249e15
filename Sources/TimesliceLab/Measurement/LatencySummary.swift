// The numbers reported per configuration (results.json `latency_ns`, summary.csv, the table).
// All are computed from the one histogram, so JSON, CSV and .hgrm agree by construction.
import Histogram

public struct LatencySummary: Codable, Equatable, Sendable {
    public var count: UInt64
    public var mean: Double
    public var stddev: Double
    public var min: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var p9999: UInt64
    public var max: UInt64
    /// max - min: the spread cyclictest users call jitter.
    public var jitterMaxMin: UInt64
    /// p99 - p50: jitter without the single worst outlier.
    public var jitterP99P50: UInt64

    enum CodingKeys: String, CodingKey {
        case count, mean, stddev, min, p50, p90, p99, p999, p9999, max
        case jitterMaxMin = "jitter_max_min", jitterP99P50 = "jitter_p99_p50"
    }

    /// The column order of summary.csv and the JSON keys, shared so they cannot drift apart.
    public static let columns = ["count", "mean", "stddev", "min", "p50", "p90", "p99", "p999", "p9999", "max",
                                 "jitter_max_min", "jitter_p99_p50"]

    public init(_ h: Histogram<UInt64>) {
        count = h.totalCount
        guard count > 0 else {
            mean = 0; stddev = 0; min = 0; p50 = 0; p90 = 0; p99 = 0; p999 = 0; p9999 = 0; max = 0
            jitterMaxMin = 0; jitterP99P50 = 0
            return
        }
        mean = h.mean
        stddev = h.stdDeviation
        min = h.min
        p50 = h.valueAtPercentile(50)
        p90 = h.valueAtPercentile(90)
        p99 = h.valueAtPercentile(99)
        p999 = h.valueAtPercentile(99.9)
        p9999 = h.valueAtPercentile(99.99)
        max = h.max
        jitterMaxMin = max - min
        jitterP99P50 = p99 - p50
    }

    public var csvFields: [String] {
        [String(count), String(format: "%.1f", mean), String(format: "%.1f", stddev), String(min), String(p50),
         String(p90), String(p99), String(p999), String(p9999), String(max), String(jitterMaxMin), String(jitterP99P50)]
    }
}

import Foundation
