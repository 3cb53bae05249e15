// What `timeslice bench` (micro suite) prints: every micro-benchmark of timeslice at each
// maxProcs, beside go, threads and swift-concurrency measured in the same invocation, and the
// ratio timeslice / other at the same maxProcs (< 1: timeslice is faster or smaller).
//
// JSON (`--json`), one object:
//   results      [timeslice result per maxProcs]  (MicroBenchmarkResult, unchanged)
//   targets      {benchmark: target}              (from the runtime issue, unchanged)
//   baselines    {runtime: [{max_procs, parked_count, <benchmark>: number...}]}  numbers only;
//                a benchmark that could not be measured is absent here and listed in
//   unavailable  [{runtime, max_procs, benchmark, reason}]
//   ratios       {runtime: [{max_procs, <benchmark>: timeslice / runtime}]}
//   notes        [how each column was measured]
import Foundation

public struct BenchReport: Codable, Sendable {
    public var results: [MicroBenchmarkResult]
    public var targets: [String: Double]
    /// Baseline columns, in measuring order.
    public var baselines: [BaselineBenchResult]

    public static let targetValues: [String: Double] = [
        "yield_ns": 60, "chan_ns": 100, "spawn_join_ns": 1000, "parked_rss_bytes": 8192,
    ]

    public init(results: [MicroBenchmarkResult], targets: [String: Double] = BenchReport.targetValues,
                baselines: [BaselineBenchResult] = []) {
        self.results = results
        self.targets = targets
        self.baselines = baselines
    }

    /// timeslice at maxProcs 1 and 2, then every baseline at the same maxProcs values.
    public static func measure(scale: Double, baselines: Bool = true,
                               executable: String = SelfExecLauncher().executable) -> BenchReport {
        let procs = [1, 2]
        let results = MicroBenchmarks.run(maxProcsValues: procs, scale: scale)
        return BenchReport(results: results, targets: targetValues,
                           baselines: baselines ? BaselineBenchmarks.measure(maxProcsValues: procs, scale: scale, executable: executable) : [])
    }

    /// timeslice / baseline at the same maxProcs; nil when either has no positive number.
    public func ratio(_ benchmark: MicroBenchmark, _ baseline: BaselineBenchResult) -> Double? {
        guard let ts = results.first(where: { $0.maxProcs == baseline.maxProcs }),
              let other = baseline.values[benchmark.rawValue], other > 0 else { return nil }
        let mine = benchmark.value(of: ts)
        return mine > 0 ? mine / other : nil
    }

    // MARK: JSON

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct UnavailableEntry: Codable, Equatable {
        var runtime: String
        var maxProcs: Int
        var benchmark: String
        var reason: String
        enum CodingKeys: String, CodingKey { case runtime, maxProcs = "max_procs", benchmark, reason }
    }

    var runtimesInOrder: [String] {
        var seen: [String] = []
        for b in baselines where !seen.contains(b.runtime) { seen.append(b.runtime) }
        return seen
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(results, forKey: Key("results"))
        try c.encode(targets, forKey: Key("targets"))
        var values: [String: [[String: Double]]] = [:]
        var ratios: [String: [[String: Double]]] = [:]
        var unavailable: [UnavailableEntry] = []
        for b in baselines {
            var v = b.values
            v["max_procs"] = Double(b.maxProcs)
            v["parked_count"] = Double(b.parkedCount)
            values[b.runtime, default: []].append(v)
            var r: [String: Double] = ["max_procs": Double(b.maxProcs)]
            for m in MicroBenchmark.allCases { r[m.rawValue] = ratio(m, b) }
            ratios[b.runtime, default: []].append(r)
            for (k, reason) in b.unavailable.sorted(by: { $0.key < $1.key }) {
                unavailable.append(UnavailableEntry(runtime: b.runtime, maxProcs: b.maxProcs, benchmark: k, reason: reason))
            }
        }
        try c.encode(values, forKey: Key("baselines"))
        try c.encode(ratios, forKey: Key("ratios"))
        try c.encode(unavailable, forKey: Key("unavailable"))
        try c.encode(baselines.flatMap(\.notes), forKey: Key("notes"))
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        results = try c.decode([MicroBenchmarkResult].self, forKey: Key("results"))
        targets = try c.decode([String: Double].self, forKey: Key("targets"))
        let values = try c.decodeIfPresent([String: [[String: Double]]].self, forKey: Key("baselines")) ?? [:]
        let unavailable = try c.decodeIfPresent([UnavailableEntry].self, forKey: Key("unavailable")) ?? []
        var columns: [BaselineBenchResult] = []
        for (runtime, entries) in values.sorted(by: { $0.key < $1.key }) {
            for e in entries {
                let procs = Int(e["max_procs"] ?? 0)
                var b = BaselineBenchResult(runtime: runtime, maxProcs: procs, parkedCount: Int(e["parked_count"] ?? 0))
                b.values = e.filter { MicroBenchmark(rawValue: $0.key) != nil }
                for u in unavailable where u.runtime == runtime && u.maxProcs == procs { b.unavailable[u.benchmark] = u.reason }
                columns.append(b)
            }
        }
        baselines = columns
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    // MARK: Table

    /// Values of every column, then the ratios, then how each baseline was measured.
    public func table() -> String {
        func number(_ v: Double) -> String { String(format: "%.1f", v) }
        func ratioText(_ v: Double) -> String { String(format: v >= 0.995 ? "%.2f" : "%.2g", v) }
        let names = MicroBenchmark.allCases
        var header = ["benchmark"] + results.map { "timeslice/\($0.maxProcs)" } + baselines.map(\.label) + ["target"]
        var rows: [[String]] = names.map { m in
            [m.rawValue] + results.map { number(m.value(of: $0)) }
                + baselines.map { b in b.values[m.rawValue].map(number) ?? "unavailable: \(b.unavailable[m.rawValue] ?? "not measured")" }
                + [targets[m.rawValue].map(number) ?? "-"]
        }
        var out = "micro-benchmarks (/N = maxProcs: timeslice Ps, GOMAXPROCS, CPUs of the threads and swift-concurrency processes)\n"
        out += Self.render(header, rows) + "\n"
        guard !baselines.isEmpty else { return out.trimmingTrailingNewline() }

        header = ["timeslice / other"] + baselines.map { "\($0.label) vs ts/\($0.maxProcs)" }
        rows = names.map { m in
            [m.rawValue] + baselines.map { b in
                if let r = ratio(m, b) { return ratioText(r) }
                return b.values[m.rawValue] == nil ? "unavailable" : "-"
            }
        }
        out += "\nratio timeslice / other at the same maxProcs (< 1: timeslice faster or smaller)\n"
        out += Self.render(header, rows) + "\n"
        let notes = baselines.flatMap(\.notes)
        if !notes.isEmpty { out += "\n" + notes.map { "  " + $0 }.joined(separator: "\n") + "\n" }
        return out.trimmingTrailingNewline()
    }

    /// Left-aligned first column, right-aligned others, widths from the longest cell.
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        func line(_ r: [String]) -> String {
            r.indices.map { i in
                let pad = String(repeating: " ", count: widths[i] - r[i].count)
                return i == 0 ? r[i] + pad : pad + r[i]
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingNewline() -> String {
        var s = self
        while s.last == "\n" { s.removeLast() }
        return s
    }
}
