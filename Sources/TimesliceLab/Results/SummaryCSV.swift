// summary.csv: one row per configuration run, the same numbers as results.json `latency_ns`
// (both come from `PercentileSummary`). Empty latency cells mean "no samples" or "not enough samples
// for that percentile"; `censored` true means the values are lower bounds (a stalled probe).
public enum SummaryCSV {
    /// The matrix axes come from MatrixAxis, so a new axis is a new column without edits here.
    public static let leadingColumns = ["id", "repetition"] + MatrixAxis.allCases.map(\.rawValue) + ["status"]

    /// Periodic probes only (empty otherwise), see SamplingAccount.
    public static let samplingColumns = ["intended_samples", "recorded_samples", "missed_periods", "deadline_miss_ratio"]

    /// `latency_ns` columns with their unit in the name (`p99_ns`); `count` and `censored` have
    /// none, and neither has `deadline_miss_ratio` (a fraction).
    public static let latencyColumns = PercentileSummary.columns.map { $0 == "count" || $0 == "censored" ? $0 : $0 + "_ns" }

    /// Server workloads only (empty otherwise): the `short` and `long` request types' latency
    /// (histograms `latency_short_ns`, `latency_long_ns`, the default mix's names) and the
    /// generator's accounting (ServerRun.swift).
    public static let serverColumns = ["short_p50_ns", "short_p99_ns", "short_p999_ns", "long_p50_ns", "long_p99_ns",
                                       "long_p999_ns", "offered_per_second", "achieved_per_second", "dropped",
                                       "timeouts", "generator_lag_p99_ns"]

    public static var header: String {
        (leadingColumns + latencyColumns + samplingColumns + serverColumns + ["placement_verified", "reason"])
            .joined(separator: ",") + "\n"
    }

    public static func render(_ configs: [ConfigResult]) -> String {
        header + configs.map(row).joined()
    }

    /// One configuration's line, newline included.
    public static func row(_ c: ConfigResult) -> String {
        let p = c.config.point
        var row = [c.id, String(c.repetition)]
        row += MatrixAxis.allCases.map { p.text($0) ?? "" }
        row.append(c.status.rawValue)
        row += c.latencyNs?.csvFields ?? Array(repeating: "", count: PercentileSummary.columns.count)
        row += c.sampling.map { s in
            [String(s.intendedSamples), String(s.recordedSamples), String(s.missedPeriods),
             String(format: "%.6f", s.deadlineMissRatio)]
        } ?? Array(repeating: "", count: samplingColumns.count)
        row += serverFields(c)
        row.append(c.placement?.verified.map { $0 ? "true" : "false" } ?? "")
        row.append(c.reason ?? "")
        return row.map(quote).joined(separator: ",") + "\n"
    }

    static func serverFields(_ c: ConfigResult) -> [String] {
        guard c.config.workload.kind == ServerParameters.kind else { return Array(repeating: "", count: serverColumns.count) }
        func text(_ v: UInt64?) -> String { v.map(String.init) ?? "" }
        let short = c.histograms["latency_short_ns"], long = c.histograms["latency_long_ns"]
        return [text(short?.p50), text(short?.p99), text(short?.p999), text(long?.p50), text(long?.p99), text(long?.p999),
                text(c.counters["offered_per_second"]), text(c.counters["achieved_per_second"]), text(c.counters["dropped"]),
                text(c.counters["timeouts"]), text(c.histograms["generator_lag_ns"]?.p99)]
    }

    /// RFC 4180 quoting: ids contain commas, reasons may contain anything.
    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

import Foundation
