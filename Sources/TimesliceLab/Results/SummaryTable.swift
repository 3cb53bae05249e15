// The table printed at the end of a sweep: one row per configuration run, latencies in
// human units, so that the answer to "did it starve, and how late was it?" is on screen.
public enum SummaryTable {
    public static func render(_ configs: [ConfigResult], meaning: String) -> String {
        let header = ["config", "rep", "status", "count", "p50", "p99", "p99.9", "max", "note"]
        var rows: [[String]] = []
        for c in configs {
            let l = c.latencyNs
            let note = c.reason ?? (c.placement?.verified == false ? "placement not verified" : "")
            rows.append([c.id, String(c.repetition), c.status.rawValue,
                         l.map { String($0.count) } ?? "-",
                         l.map { human($0.p50) } ?? "-", l.map { human($0.p99) } ?? "-",
                         l.map { human($0.p999) } ?? "-", l.map { human($0.max) } ?? "-",
                         String(note.prefix(70))])
        }
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max()! }
        func line(_ r: [String]) -> String {
            r.indices.map { i in
                // Left-align text columns, right-align numbers.
                let pad = String(repeating: " ", count: widths[i] - r[i].count)
                return (i <= 2 || i == r.count - 1) ? r[i] + pad : pad + r[i]
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var out = "latency = \(meaning)\n"
        out += line(header) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for r in rows { out += line(r) + "\n" }
        return out
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

import Foundation
