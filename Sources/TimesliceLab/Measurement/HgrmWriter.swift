// .hgrm files: HdrHistogram's percentile-distribution text, as Java's
// `outputPercentileDistribution(out, 5, scale)` prints it and as HdrHistogram's plotter
// (plotFiles.html), hdr-plot and the notebooks parse it:
//
//        Value     Percentile TotalCount 1/(1-Percentile)
//
//     1234.000 0.000000000000          1           1.00
//     ...
//   #[Mean    =     1234.000, StdDeviation   =       12.000]
//   #[Max     =     5678.000, Total count    =         1000]
//   #[Buckets =           26, SubBuckets     =         2048]
//
// Values are written in nanoseconds (scale 1.0) to match results.json and summary.csv. A
// histogram with no samples produces the header and footer only, which readers accept.
import Histogram

public enum HgrmWriter {
    public static func render(_ h: Histogram<UInt64>) -> String {
        var out = ""
        h.outputPercentileDistribution(to: &out, outputValueUnitScalingRatio: 1.0, percentileTicksPerHalfDistance: 5)
        return out
    }
}

/// `<stem>.hgrm.json` beside every .hgrm: which configuration, repetition and distribution the
/// file holds, in which unit, so a lone .hgrm (copied into a paper's repository, opened in
/// HdrHistogram's plotter) can be traced back without results.json.
public struct HgrmSidecar: Codable, Equatable, Sendable {
    public var experiment: String
    /// The configuration id (`rt=timeslice,procs=1,...`).
    public var id: String
    /// 1-based repetition, or "merged" for `<id>.merged.hgrm` (every repetition's histogram added).
    public var repetition: JSONValue
    /// "ns": the values of the .hgrm are nanoseconds.
    public var unit: String
    /// `latency_ns` (for periodic probes corrected: one sample per intended deadline) or
    /// `latency_raw_ns` (one sample per wake-up), as in results.json.
    public var distribution: String
    /// What the latency measures for this workload (results.json `latency_meaning`).
    public var latencyMeaning: String
    public var hgrm: String
    public var count: UInt64

    enum CodingKeys: String, CodingKey {
        case experiment, id, repetition, unit, distribution, latencyMeaning = "latency_meaning", hgrm, count
    }

    public init(experiment: String, id: String, repetition: Int?, distribution: String, latencyMeaning: String,
                hgrm: String, count: UInt64) {
        self.experiment = experiment
        self.id = id
        self.repetition = repetition.map { .integer(Int64($0)) } ?? .string("merged")
        self.unit = "ns"
        self.distribution = distribution
        self.latencyMeaning = latencyMeaning
        self.hgrm = hgrm
        self.count = count
    }
}
