// summary.csv: one row per configuration run, the same numbers as results.json `latency_ns`
// (both come from `LatencySummary`). Empty latency cells mean "no samples" (e.g. starved).
public enum SummaryCSV {
    public static let leadingColumns = ["id", "repetition", "runtime", "max_procs", "preemption", "time_slice",
                                        "placement", "lock_os_thread", "numa_node", "status"]

    public static func render(_ configs: [ConfigResult]) -> String {
        var lines = [(leadingColumns + LatencySummary.columns + ["placement_verified", "reason"]).joined(separator: ",")]
        for c in configs {
            let p = c.config.point
            var row = [c.id, String(c.repetition)]
            row += MatrixAxis.allCases.map { p.text($0) ?? "" }
            row.append(c.status.rawValue)
            row += c.latencyNs?.csvFields ?? Array(repeating: "", count: LatencySummary.columns.count)
            row.append(c.placement?.verified.map { $0 ? "true" : "false" } ?? "")
            row.append(c.reason ?? "")
            lines.append(row.map(quote).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 quoting: ids contain commas, reasons may contain anything.
    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

import Foundation
