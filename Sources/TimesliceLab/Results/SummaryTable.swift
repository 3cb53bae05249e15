import Foundation
// The table printed at the end of a sweep: one row per configuration run, latencies in human
// units, so that the answer to "did it starve, and how late was it?" is on screen. Then, when
// configurations ran more than once, one row per configuration across its repetitions, and the
// cross-check verdicts.
//
// Cells: "—" where the sample count does not support the percentile (PercentileSummary);
// "≥" before every value of a censored distribution (a stalled probe: lower bounds).
public enum SummaryTable {
    public static func render(_ document: ResultsDocument, meaning: String) -> String {
        var out = "latency = \(meaning)\n"
        if document.options["quick"] != nil { out += "(--quick: a shortened smoke run, one repetition; not for publication)\n" }
        let emulated = document.guest?.emulated == true
        if emulated { out += "(guest under TCG: every latency is emulated and meaningless; rows marked \"emulated\"; only functional facts count)\n" }
        out += render(document.configs, emulated: emulated)
        if !document.aggregates.isEmpty {
            out += "\nacross repetitions (histograms merged; p99 median with bootstrap 95 % CI of the median):\n"
            out += renderAggregates(document.aggregates)
        }
        for v in document.crosschecks {
            let r = v.comparison.ratios
            func ratio(_ k: String) -> String { r[k].map { String(format: "%.2f", $0) } ?? "—" }
            out += "\ncross-check \(v.candidate) vs \(v.reference): \(v.verdict) "
                + "(ratios p50 \(ratio("p50")), p90 \(ratio("p90")), p99 \(ratio("p99")), max \(ratio("max")); "
                + String(format: "KS D %.3f)", v.comparison.ksStatistic) + "\n"
        }
        return out
    }

    /// Per-run rows only (tests and callers without a document). `emulated`: the run was in a
    /// TCG guest, every row's note says "emulated".
    public static func render(_ configs: [ConfigResult], emulated: Bool = false) -> String {
        // A run merged from shards on several hosts says which host ran each row.
        let byHost = Set(configs.compactMap(\.host)).count > 1
        let header = ["config", "rep"] + (byHost ? ["host"] : []) + ["status", "count", "miss", "p50", "p99", "p99.9", "max", "note"]
        let rows: [[String]] = configs.map { c in
            let l = c.latencyNs
            var note = c.reason ?? (c.placement?.verified == false ? "placement not verified" : "")
            if emulated { note = note.isEmpty ? "emulated" : "emulated; \(note)" }
            if let reasons = Disturbance.reasons(c) {
                let disturbed = "disturbed: " + reasons
                note = note.isEmpty ? disturbed : "\(note); \(disturbed)"
            }
            let lead: [String] = [c.id, String(c.repetition)] + (byHost ? [c.host ?? "?"] : [])
            let count: String = l.map { String($0.count) } ?? "-"
            let miss: String = c.sampling.map { percent($0.deadlineMissRatio) } ?? ""
            let max: String = l.map { cell($0.max, censored: $0.censored) } ?? "-"
            let cells: [String] = [c.status.rawValue, count, miss, cell(l?.p50, l), cell(l?.p99, l), cell(l?.p999, l), max,
                                   String(note.prefix(70))]
            return lead + cells
        }
        return grid(header, rows, textColumns: Set([0, 1, 2, header.count - 1] + (byHost ? [3] : [])))
    }

    static func renderAggregates(_ aggregates: [ConfigAggregate]) -> String {
        let header = ["config", "reps", "statuses", "count", "miss", "p50 med [min-max]", "p99 med [95% CI]", "p99.9 med", "max"]
        let rows: [[String]] = aggregates.map { a in
            let l = a.latencyNs
            let censored = l?.censored ?? false
            func spread(_ k: String) -> String {
                guard let s = a.across[k] else { return "—" }
                return "\(cell(UInt64(s.median), censored: censored)) [\(human(s.min))-\(human(s.max))]"
            }
            var p99 = a.across["p99"].map { cell(UInt64($0.median), censored: censored) } ?? "—"
            if let ci = a.ci95 { p99 += " [\(human(UInt64(ci.low)))-\(human(UInt64(ci.high)))]" }
            return [a.id, String(a.repetitions), a.statuses.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                    l.map { String($0.count) } ?? "-", a.deadlineMissRatio.map(percent) ?? "",
                    spread("p50"), p99, a.across["p999"].map { cell(UInt64($0.median), censored: censored) } ?? "—",
                    l.map { cell($0.max, censored: censored) } ?? "-"]
        }
        return grid(header, rows, textColumns: [0, 2])
    }

    static func grid(_ header: [String], _ rows: [[String]], textColumns: Set<Int>) -> String {
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max()! }
        func line(_ r: [String]) -> String {
            r.indices.map { i in
                let pad = String(repeating: " ", count: widths[i] - r[i].count)
                return textColumns.contains(i) ? r[i] + pad : pad + r[i]
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var out = line(header) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for r in rows { out += line(r) + "\n" }
        return out
    }

    /// One latency cell: "—" when withheld, "≥" prefix for lower bounds.
    static func cell(_ v: UInt64?, _ summary: PercentileSummary?) -> String {
        guard let summary else { return "-" }
        return cell(v, censored: summary.censored)
    }

    public static func cell(_ v: UInt64?, censored: Bool) -> String {
        guard let v else { return "—" }
        return (censored ? "≥" : "") + human(v)
    }

    static func percent(_ ratio: Double) -> String {
        ratio == 0 ? "0%" : ratio < 0.001 ? "<0.1%" : String(format: "%.1f%%", ratio * 100)
    }

    /// 1234 -> "1.23us", 12_345_678 -> "12.3ms": three significant digits, like the histogram.
    public static func human(_ ns: UInt64) -> String {
        let v = Double(ns)
        let (scaled, unit): (Double, String) =
            v >= 1e9 ? (v / 1e9, "s") : v >= 1e6 ? (v / 1e6, "ms") : v >= 1e3 ? (v / 1e3, "us") : (v, "ns")
        if unit == "ns" { return "\(ns)ns" }
        let digits = scaled >= 100 ? 0 : scaled >= 10 ? 1 : 2
        return String(format: "%.\(digits)f", scaled) + unit
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
