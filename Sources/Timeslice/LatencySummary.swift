// Percentile summaries of the runtime's own latency histograms (the preemption
// breakdown, PreemptionBreakdown.swift, keeps the histograms themselves).
import Histogram

/// Percentiles of a runtime latency distribution, in nanoseconds.
public struct LatencySummary: Codable, Sendable, Equatable {
    public var count: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var max: UInt64
}

extension LatencySummary {
    init(_ histogram: Histogram<UInt64>) {
        self.init(count: histogram.totalCount,
                  p50: histogram.valueAtPercentile(50), p90: histogram.valueAtPercentile(90),
                  p99: histogram.valueAtPercentile(99), max: histogram.totalCount == 0 ? 0 : histogram.max)
    }
}
