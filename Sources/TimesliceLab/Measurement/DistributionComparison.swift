// Two latency distributions compared as a whole: percentile ratios and the two-sample
// Kolmogorov–Smirnov statistic D = max |F_a(x) − F_b(x)| over every recorded value, computed
// exactly from the two histograms (same geometry, so bucket values line up).
import Histogram

public struct DistributionComparison: Codable, Equatable, Sendable {
    /// b / a for p50, p90, p99 and max; nil where either side lacks the percentile.
    public var ratios: [String: Double]
    public var ksStatistic: Double
    public var countA: UInt64
    public var countB: UInt64

    enum CodingKeys: String, CodingKey {
        case ratios, ksStatistic = "ks_statistic", countA = "count_a", countB = "count_b"
    }

    public init(_ a: Histogram<UInt64>, _ b: Histogram<UInt64>) {
        let sa = PercentileSummary(a), sb = PercentileSummary(b)
        var ratios: [String: Double] = [:]
        for key in ["p50", "p90", "p99", "max"] {
            if let x = sa.value(key), let y = sb.value(key), x > 0 { ratios[key] = Double(y) / Double(x) }
        }
        self.ratios = ratios
        countA = a.totalCount
        countB = b.totalCount
        ksStatistic = Self.ks(a, b)
    }

    static func ks(_ a: Histogram<UInt64>, _ b: Histogram<UInt64>) -> Double {
        guard a.totalCount > 0, b.totalCount > 0 else { return 1 }
        let va = a.recordedValues().map { ($0.value, $0.count) }
        let vb = b.recordedValues().map { ($0.value, $0.count) }
        var i = 0, j = 0
        var ca: UInt64 = 0, cb: UInt64 = 0
        var d = 0.0
        let na = Double(a.totalCount), nb = Double(b.totalCount)
        while i < va.count || j < vb.count {
            // Step both CDFs past the next distinct value.
            let x = Swift.min(i < va.count ? va[i].0 : .max, j < vb.count ? vb[j].0 : .max)
            while i < va.count && va[i].0 == x { ca += va[i].1; i += 1 }
            while j < vb.count && vb[j].0 == x { cb += vb[j].1; j += 1 }
            d = Swift.max(d, abs(Double(ca) / na - Double(cb) / nb))
        }
        return d
    }
}

/// The cyclictest cross-check's verdict for one placement: the threads probe and cyclictest
/// measure the same thing (raw wake-up lateness, one sample per wake-up) and should agree.
public struct CrossCheckVerdict: Codable, Equatable, Sendable {
    public var reference: String
    public var candidate: String
    public var comparison: DistributionComparison
    /// "agree" when p50 and p90 are within ±10 % and D ≤ 0.1, else "differ"; "insufficient"
    /// when either side has fewer than 100 samples.
    public var verdict: String
    public var rule: String

    public static let rule = "agree when cyclictest/threads p50 and p90 ratios are within [0.9, 1.1] and KS D <= 0.1 (raw wake-up lateness, repetitions merged)"

    public init(reference: String, candidate: String, _ a: Histogram<UInt64>, _ b: Histogram<UInt64>) {
        self.reference = reference
        self.candidate = candidate
        let comparison = DistributionComparison(a, b)
        self.comparison = comparison
        rule = Self.rule
        if a.totalCount < 100 || b.totalCount < 100 {
            verdict = "insufficient"
        } else {
            let within = ["p50", "p90"].allSatisfy { k in comparison.ratios[k].map { $0 >= 0.9 && $0 <= 1.1 } ?? false }
            verdict = within && comparison.ksStatistic <= 0.1 ? "agree" : "differ"
        }
    }
}
