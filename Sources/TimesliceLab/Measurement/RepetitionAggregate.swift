// One configuration across its repetitions: the histograms merged exactly (HdrHistogram `add`,
// never an average of percentiles), the spread of each repetition's percentiles (median, min,
// max) and a bootstrap 95 % confidence interval of the median p99.
//
// Bootstrap: resample the per-repetition p99 values with replacement (as many as there are),
// take the median of each resample, 10 000 times with a generator seeded from the experiment's
// seed; the interval is the 2.5th and 97.5th percentile of those medians. With few repetitions
// it is wide, which is the honest answer.
import Histogram

public struct Spread: Codable, Equatable, Sendable {
    public var median: Double
    public var min: UInt64
    public var max: UInt64
    /// Repetitions whose sample count supported this percentile.
    public var repetitions: Int
}

public struct ConfidenceInterval: Codable, Equatable, Sendable {
    public var statistic: String
    public var low: Double
    public var high: Double
    public var level: Double
    public var resamples: Int
    public var seed: UInt64

    /// [low, high], as the benches' JSON writes an interval (`*_ci95`).
    public var bounds: [Double] { [low, high] }
}

public struct ConfigAggregate: Codable, Sendable {
    public var id: String
    public var repetitions: Int
    /// Repetitions by status ("ok": 4, "starved": 1).
    public var statuses: [String: Int]
    /// The merged histogram of every repetition that recorded samples.
    public var latencyNs: PercentileSummary?
    public var latencyRawNs: PercentileSummary?
    /// Per-repetition percentiles: "p50", "p99", "p999" → spread.
    public var across: [String: Spread]
    /// Bootstrap CI of the median of per-repetition p99; nil with fewer than 2 supported values.
    public var ci95: ConfidenceInterval?
    /// Summed over repetitions (periodic probes).
    public var intendedSamples: UInt64?
    public var missedPeriods: UInt64?
    public var deadlineMissRatio: Double?
    /// The merged .hgrm, relative to the run directory.
    public var hgrm: String?

    enum CodingKeys: String, CodingKey {
        case id, repetitions, statuses, latencyNs = "latency_ns", latencyRawNs = "latency_raw_ns", across, ci95
        case intendedSamples = "intended_samples", missedPeriods = "missed_periods"
        case deadlineMissRatio = "deadline_miss_ratio", hgrm
    }
}

public enum RepetitionAggregator {
    public static let resamples = 10_000

    /// `runs`: every repetition of one configuration id, with its histograms.
    public static func aggregate(id: String, results: [ConfigResult], histograms: [Histogram<UInt64>?],
                                 rawHistograms: [Histogram<UInt64>?], seed: UInt64) -> (ConfigAggregate, Histogram<UInt64>?) {
        var statuses: [String: Int] = [:]
        for r in results { statuses[r.status.rawValue, default: 0] += 1 }
        let merged = merge(histograms)
        let mergedRaw = merge(rawHistograms)
        let censored = results.contains { $0.latencyNs?.censored ?? false }
        var across: [String: Spread] = [:]
        for key in ["p50", "p99", "p999"] {
            let values = results.compactMap { $0.latencyNs?.value(key) }
            if !values.isEmpty {
                across[key] = Spread(median: median(values.map { Double($0) }), min: values.min()!, max: values.max()!,
                                     repetitions: values.count)
            }
        }
        let p99s = results.compactMap { $0.latencyNs?.p99 }.map { Double($0) }  // not map(Double.init): that picks init(bitPattern:)
        let ci = p99s.count >= 2 ? bootstrapMedianCI(p99s, seed: seed) : nil
        let samplings = results.compactMap(\.sampling)
        let intended = samplings.isEmpty ? nil : samplings.reduce(0) { $0 + $1.intendedSamples }
        let missed = samplings.isEmpty ? nil : samplings.reduce(0) { $0 + $1.missedPeriods }
        let aggregate = ConfigAggregate(
            id: id, repetitions: results.count, statuses: statuses,
            latencyNs: merged.map { PercentileSummary($0, censored: censored) },
            latencyRawNs: mergedRaw.map { PercentileSummary($0, censored: censored) },
            across: across, ci95: ci, intendedSamples: intended, missedPeriods: missed,
            deadlineMissRatio: intended.flatMap { i in missed.map { i == 0 ? 0 : Double($0) / Double(i) } },
            hgrm: nil)
        return (aggregate, merged)
    }

    static func merge(_ hs: [Histogram<UInt64>?]) -> Histogram<UInt64>? {
        var out: Histogram<UInt64>?
        for case let h? in hs where h.totalCount > 0 {
            if out == nil { out = h } else { out!.add(h) }
        }
        return out
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    public static func bootstrapMedianCI(_ values: [Double], seed: UInt64,
                                         statistic: String = "median of per-repetition p99 (ns)") -> ConfidenceInterval {
        var rng = SplitMix64(seed: seed)
        var medians: [Double] = []
        medians.reserveCapacity(resamples)
        var sample = [Double](repeating: 0, count: values.count)
        for _ in 0..<resamples {
            for i in sample.indices { sample[i] = values[Int(rng.next() % UInt64(values.count))] }
            medians.append(median(sample))
        }
        medians.sort()
        let lo = medians[Int(Double(resamples) * 0.025)]
        let hi = medians[Int(Double(resamples) * 0.975) - 1]
        return ConfidenceInterval(statistic: statistic, low: lo, high: hi, level: 0.95,
                                  resamples: resamples, seed: seed)
    }
}
