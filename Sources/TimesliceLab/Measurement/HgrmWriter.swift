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
