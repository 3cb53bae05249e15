// `timeslice compare`: two runs (or the configurations of one run against a baseline
// configuration) compared per matching configuration id at p50, p99 and p99.9.
//
// For each statistic:
//   - `ratio`: B / A of the merged histograms' percentile (results.json `aggregates`, or the one
//     repetition when a configuration ran once): every sample of every repetition counted once;
//   - `ci95`: when both sides have the percentile in ≥ 2 repetitions, a bootstrap 95 % interval
//     of median(B reps) / median(A reps): each side resampled with replacement independently
//     (RepetitionAggregator.resamples times, SplitMix64 seeded), the 2.5th and 97.5th percentile
//     of the ratios. The verdict uses it: CI containing 1 means no significant difference.
//   - censored sides (a stalled probe's lower bounds) give only a bound, never a verdict of
//     "no difference".
// Configurations on one side only are listed as such.
import Foundation

/// What compare needs from one results.json, decoded leniently (any schema-1 run, including
/// ones written before aggregates or provenance existed).
public struct ComparableRun: Sendable {
    public struct Repetition: Sendable {
        public var id: String
        public var status: String
        public var repetition: Int
        public var latency: PercentileSummary?
        public var reason: String?
    }

    public var path: String
    public var experiment: String
    public var startedAt: String?
    public var gitCommit: String?
    public var seed: UInt64?
    public var repetitions: [Repetition]
    /// Merged distribution per configuration id (results.json `aggregates`).
    public var merged: [String: PercentileSummary]

    /// Configuration ids in the order they first appear.
    public var ids: [String] {
        var seen = Set<String>()
        return repetitions.map(\.id).filter { seen.insert($0).inserted }
    }

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// `path` is a run directory (holding results.json) or a results.json file.
    public static func load(_ path: String) throws -> ComparableRun {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw LoadError(description: "\(path) does not exist (pass a run directory, results/<experiment>/<timestamp>)")
        }
        let file = isDir.boolValue ? (path as NSString).appendingPathComponent("results.json") : path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw LoadError(description: "\(file) does not exist (is \(path) a run directory?)")
        }
        let raw: Raw
        do { raw = try JSONDecoder().decode(Raw.self, from: data) } catch {
            throw LoadError(description: "\(file) is not a readable results.json: \(error)")
        }
        guard raw.schemaVersion == ResultsDocument.schemaVersion else {
            throw LoadError(description: "\(file): schema_version \(raw.schemaVersion), compare reads \(ResultsDocument.schemaVersion)")
        }
        return ComparableRun(
            path: isDir.boolValue ? path : (path as NSString).deletingLastPathComponent, experiment: raw.experiment,
            startedAt: raw.startedAt, gitCommit: raw.provenance?.gitCommit, seed: raw.effectiveSpec?.seed ?? raw.spec?.seed,
            repetitions: raw.configs.map {
                Repetition(id: $0.id, status: $0.status, repetition: $0.repetition ?? 1, latency: $0.latencyNs, reason: $0.reason)
            },
            merged: Dictionary((raw.aggregates ?? []).compactMap { a in a.latencyNs.map { (a.id, $0) } }, uniquingKeysWith: { a, _ in a }))
    }

    private struct Raw: Decodable {
        struct Config: Decodable {
            var id: String
            var status: String
            var repetition: Int?
            var latencyNs: PercentileSummary?
            var reason: String?
            enum CodingKeys: String, CodingKey { case id, status, repetition, latencyNs = "latency_ns", reason }
        }
        struct Aggregate: Decodable {
            var id: String
            var latencyNs: PercentileSummary?
            enum CodingKeys: String, CodingKey { case id, latencyNs = "latency_ns" }
        }
        struct Prov: Decodable {
            var gitCommit: String?
            enum CodingKeys: String, CodingKey { case gitCommit = "git_commit" }
        }
        struct Spec: Decodable { var seed: UInt64? }
        var schemaVersion: Int
        var experiment: String
        var startedAt: String?
        var configs: [Config]
        var aggregates: [Aggregate]?
        var provenance: Prov?
        var spec: Spec?
        var effectiveSpec: Spec?
        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version", experiment, startedAt = "started_at", configs, aggregates, provenance
            case spec, effectiveSpec = "effective_spec"
        }
    }

    /// One configuration's merged distribution and per-repetition rows.
    func side(_ id: String) -> ComparisonSide {
        let reps = repetitions.filter { $0.id == id }
        let merged = self.merged[id] ?? (reps.count == 1 ? reps[0].latency : nil)
        let bad = reps.first { $0.status != ConfigStatus.ok.rawValue }
        return ComparisonSide(id: id, repetitions: reps.count, status: bad?.status ?? ConfigStatus.ok.rawValue,
                              reason: bad?.reason, censored: reps.contains { $0.latency?.censored ?? false },
                              merged: merged, perRepetition: reps)
    }
}

struct ComparisonSide {
    var id: String
    var repetitions: Int
    /// "ok", or the first non-ok repetition's status.
    var status: String
    var reason: String?
    var censored: Bool
    var merged: PercentileSummary?
    var perRepetition: [ComparableRun.Repetition]

    /// Per-repetition values of one percentile (repetitions whose count supports it).
    func values(_ key: String) -> [Double] {
        perRepetition.compactMap { $0.latency?.value(key) }.map { Double($0) }
    }
}

public struct RatioInterval: Codable, Equatable, Sendable {
    public var low: Double
    public var high: Double
    public var level: Double
    public var resamples: Int
    public var seed: UInt64
}

public struct StatisticComparison: Codable, Equatable, Sendable {
    /// "p50", "p99", "p999".
    public var statistic: String
    public var a: UInt64?
    public var b: UInt64?
    /// B / A of the merged distributions.
    public var ratio: Double?
    public var repetitionsA: Int
    public var repetitionsB: Int
    /// median(B per-repetition) / median(A per-repetition), with ≥ 2 repetitions on both sides.
    public var medianRatio: Double?
    public var ci95: RatioInterval?
    /// "slower", "faster", "no significant difference", "single repetition" (no CI),
    /// "at least slower"/"at most faster" (censored bounds), "not comparable".
    public var verdict: String
    /// The sentence printed for it, e.g. "B is 1.80× ± 0.18 slower at p99 (95% CI 1.62–1.98)".
    public var summary: String

    enum CodingKeys: String, CodingKey {
        case statistic, a, b, ratio, repetitionsA = "repetitions_a", repetitionsB = "repetitions_b"
        case medianRatio = "median_ratio", ci95, verdict, summary
    }
}

public struct ConfigComparison: Codable, Equatable, Sendable {
    /// A's configuration id (in --within mode, the baseline).
    public var idA: String
    public var idB: String
    public var statusA: String
    public var statusB: String
    public var censoredA: Bool
    public var censoredB: Bool
    public var statistics: [StatisticComparison]
    /// The headline: p99's summary (p50's when p99 is unavailable on either side).
    public var verdict: String

    enum CodingKeys: String, CodingKey {
        case idA = "id_a", idB = "id_b", statusA = "status_a", statusB = "status_b"
        case censoredA = "censored_a", censoredB = "censored_b", statistics, verdict
    }
}

public struct RunComparison: Codable, Sendable {
    public struct Side: Codable, Sendable {
        public var path: String
        public var experiment: String
        public var startedAt: String?
        public var gitCommit: String?
        enum CodingKeys: String, CodingKey { case path, experiment, startedAt = "started_at", gitCommit = "git_commit" }
    }

    public static let statistics = ["p50", "p99", "p999"]

    /// "runs" (RUN_A vs RUN_B) or "within" (one run's configurations vs its baseline).
    public var mode: String
    public var a: Side
    public var b: Side
    public var baseline: String?
    public var configurations: [ConfigComparison]
    public var onlyInA: [String]
    public var onlyInB: [String]
    public var method: String

    enum CodingKeys: String, CodingKey {
        case mode, a, b, baseline, configurations, onlyInA = "only_in_a", onlyInB = "only_in_b", method
    }

    public static let methodText = "ratio = B/A of the repetitions-merged percentile; 95% CI: bootstrap of median(B per-repetition) / median(A per-repetition), each side resampled independently, \(RepetitionAggregator.resamples) resamples, SplitMix64 seeded; 'no significant difference' when the CI contains 1; a CI needs >= 2 repetitions with the percentile on both sides"

    /// RUN_A vs RUN_B, per configuration id present in both.
    public init(_ a: ComparableRun, _ b: ComparableRun, seed: UInt64 = 1) {
        mode = "runs"
        self.a = Side(a)
        self.b = Side(b)
        baseline = nil
        let idsB = Set(b.ids), idsA = Set(a.ids)
        configurations = a.ids.filter(idsB.contains).map { Self.compare(a.side($0), b.side($0), seed: seed) }
        onlyInA = a.ids.filter { !idsB.contains($0) }
        onlyInB = b.ids.filter { !idsA.contains($0) }
        method = Self.methodText
    }

    /// Every other configuration of `run` against `baseline` (A = baseline, B = each other).
    public init(within run: ComparableRun, baseline: String, seed: UInt64 = 1) {
        mode = "within"
        a = Side(run)
        b = Side(run)
        self.baseline = baseline
        let base = run.side(baseline)
        configurations = run.ids.filter { $0 != baseline }.map { Self.compare(base, run.side($0), seed: seed) }
        onlyInA = []
        onlyInB = []
        method = Self.methodText
    }

    /// The baseline of `--within`: nil selects the run's first configuration; otherwise an exact
    /// id or comma-separated key=value fields (as --only) that must select exactly one id.
    public static func resolveBaseline(_ selector: String?, in run: ComparableRun) throws -> String {
        let ids = run.ids
        guard let first = ids.first else { throw ComparableRun.LoadError(description: "\(run.path): the run has no configurations") }
        guard let selector, !selector.isEmpty else { return first }
        if ids.contains(selector) { return selector }
        let terms = selector.split(separator: ",").map(String.init)
        let matches = ids.filter { id in
            let fields = Set(id.split(separator: ",").map(String.init))
            return terms.allSatisfy(fields.contains)
        }
        guard matches.count == 1 else {
            throw ComparableRun.LoadError(description: "--baseline \"\(selector)\" matches \(matches.isEmpty ? "no" : "\(matches.count)") configurations of \(run.path); choose one of:\n  " + ids.joined(separator: "\n  "))
        }
        return matches[0]
    }

    static func compare(_ a: ComparisonSide, _ b: ComparisonSide, seed: UInt64) -> ConfigComparison {
        let stats = statistics.map { compareStatistic($0, a, b, seed: seed) }
        let headline = stats.first { $0.statistic == "p99" && $0.verdict != "not comparable" }
            ?? stats.first { $0.statistic == "p50" } ?? stats[0]
        return ConfigComparison(idA: a.id, idB: b.id, statusA: a.status, statusB: b.status, censoredA: a.censored,
                                censoredB: b.censored, statistics: stats, verdict: headline.summary)
    }

    static func compareStatistic(_ key: String, _ a: ComparisonSide, _ b: ComparisonSide, seed: UInt64) -> StatisticComparison {
        let label = Self.label(key)
        let va = a.merged?.value(key), vb = b.merged?.value(key)
        let ra = a.values(key), rb = b.values(key)
        var out = StatisticComparison(statistic: key, a: va, b: vb, ratio: nil, repetitionsA: ra.count, repetitionsB: rb.count,
                                      medianRatio: nil, ci95: nil, verdict: "not comparable", summary: "")
        guard let va, let vb else {
            let missing = [(a, va, "A"), (b, vb, "B")].filter { $0.1 == nil }.map { side, _, name in
                side.merged == nil ? "\(name) has no latency (\(side.status))" : "\(name) has too few samples for \(label)"
            }
            out.summary = "not comparable at \(label): " + missing.joined(separator: ", ")
            return out
        }
        guard va > 0 else {
            out.summary = "not comparable at \(label): A is 0 ns"
            return out
        }
        let ratio = Double(vb) / Double(va)
        out.ratio = ratio
        if ra.count >= 2, rb.count >= 2, RepetitionAggregator.median(ra) > 0 {
            out.medianRatio = RepetitionAggregator.median(rb) / RepetitionAggregator.median(ra)
            out.ci95 = RepetitionAggregator.bootstrapRatioOfMediansCI(ra, rb, seed: seed)
        }
        // Censored values are lower bounds: B censored → the ratio is at least this; A censored →
        // at most this; both → nothing can be said.
        switch (a.censored, b.censored) {
        case (true, true):
            out.summary = "both sides censored at \(label) (lower bounds only): not comparable"
            return out
        case (false, true):
            out.verdict = "at least slower"
            out.summary = "B is at least \(times(ratio)) A at \(label) (B \(b.status), censored: a lower bound)"
            return out
        case (true, false):
            out.verdict = "at most"
            out.summary = "B/A is at most \(times(ratio)) at \(label) (A \(a.status), censored: a lower bound)"
            return out
        case (false, false):
            break
        }
        guard let ci = out.ci95, let point = out.medianRatio else {
            out.verdict = "single repetition"
            out.summary = "B/A = \(times(ratio)) at \(label) (no CI: needs ≥ 2 repetitions with \(label) on both sides, have \(ra.count) and \(rb.count))"
            return out
        }
        let interval = "95% CI \(fmt(ci.low))–\(fmt(ci.high))"
        if ci.low <= 1 && ci.high >= 1 {
            out.verdict = "no significant difference"
            out.summary = "no significant difference at \(label) (B/A \(times(point)), \(interval) contains 1)"
        } else if point >= 1 {
            out.verdict = "slower"
            out.summary = "B is \(fmt(point))×\(plusMinus(point, ci.low, ci.high)) slower at \(label) (\(interval))"
        } else {
            // Faster: expressed as A/B, with the interval inverted.
            out.verdict = "faster"
            let inv = 1 / point, lo = 1 / ci.high, hi = 1 / ci.low
            out.summary = "B is \(fmt(inv))×\(plusMinus(inv, lo, hi)) faster at \(label) (A/B, 95% CI \(fmt(lo))–\(fmt(hi)))"
        }
        return out
    }

    /// " ± h" when the interval is roughly symmetric around the point (neither side more than
    /// 1.5 times the other), else "": a lopsided interval is only shown as "95% CI lo–hi".
    static func plusMinus(_ point: Double, _ low: Double, _ high: Double) -> String {
        let below = point - low, above = high - point
        guard below > 0, above > 0, Swift.max(below, above) <= 1.5 * Swift.min(below, above) else { return "" }
        return " ± " + fmt(Swift.max(below, above))
    }

    static func label(_ key: String) -> String { key == "p999" ? "p99.9" : key }
    static func fmt(_ x: Double) -> String { String(format: x >= 10 ? "%.1f" : "%.2f", x) }
    static func times(_ x: Double) -> String { fmt(x) + "×" }

    /// The table `timeslice compare` prints.
    public func table() -> String {
        var out = ""
        if mode == "within" {
            out += "run: \(a.path)  (\(a.experiment)\(a.gitCommit.map { ", commit \($0.prefix(12))" } ?? ""))\n"
            out += "A = baseline \(baseline ?? "?"), B = each other configuration\n"
        } else {
            out += "A: \(a.path)  (\(a.experiment)\(a.gitCommit.map { ", commit \($0.prefix(12))" } ?? ""))\n"
            out += "B: \(b.path)  (\(b.experiment)\(b.gitCommit.map { ", commit \($0.prefix(12))" } ?? ""))\n"
        }
        let header = ["stat", "A", "B", "B/A", "reps A/B", "median ratio [95% CI]"]
        for c in configurations {
            out += "\n" + (mode == "within" ? "B = \(c.idB)" : c.idA) + "\n"
            for (label, status, censored) in [("A", c.statusA, c.censoredA), ("B", c.statusB, c.censoredB)]
            where status != ConfigStatus.ok.rawValue {
                out += "  \(label) is \(status)\(censored ? " (censored: lower bounds)" : "")\n"
            }
            var rows = [header]
            for s in c.statistics {
                let ge = { (censored: Bool) in censored ? "≥" : "" }
                rows.append([
                    Self.label(s.statistic),
                    s.a.map { ge(c.censoredA) + SummaryTable.human($0) } ?? "—",
                    s.b.map { ge(c.censoredB) + SummaryTable.human($0) } ?? "—",
                    s.ratio.map(Self.times) ?? "—",
                    "\(s.repetitionsA)/\(s.repetitionsB)",
                    s.medianRatio.map { m in Self.times(m) + (s.ci95.map { " [\(Self.fmt($0.low))–\(Self.fmt($0.high))]" } ?? "") } ?? "—",
                ])
            }
            let widths = header.indices.map { i in rows.map { $0[i].count }.max()! }
            for r in rows {
                out += "  " + r.indices.map { i in r[i].padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
            }
            out += "  → \(c.verdict)\n"
        }
        if configurations.isEmpty { out += "\nno configuration id is in both runs\n" }
        if !onlyInA.isEmpty { out += "\nonly in A:\n" + onlyInA.map { "  \($0)\n" }.joined() }
        if !onlyInB.isEmpty { out += "\nonly in B:\n" + onlyInB.map { "  \($0)\n" }.joined() }
        return out
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

extension RunComparison.Side {
    init(_ run: ComparableRun) {
        self.init(path: run.path, experiment: run.experiment, startedAt: run.startedAt, gitCommit: run.gitCommit)
    }
}

extension RepetitionAggregator {
    /// Bootstrap 95 % interval of median(b) / median(a): each side resampled with replacement
    /// (as many as it has), `resamples` times, from one SplitMix64 stream seeded with `seed`.
    /// Both sides need at least one value; a resample whose A median is 0 counts as +∞ (it
    /// sorts to the top), so the interval stays honest when A has zero values.
    public static func bootstrapRatioOfMediansCI(_ a: [Double], _ b: [Double], seed: UInt64) -> RatioInterval {
        var rng = SplitMix64(seed: seed)
        var ratios: [Double] = []
        ratios.reserveCapacity(resamples)
        var sa = [Double](repeating: 0, count: a.count), sb = [Double](repeating: 0, count: b.count)
        for _ in 0..<resamples {
            for i in sa.indices { sa[i] = a[Int(rng.next() % UInt64(a.count))] }
            for i in sb.indices { sb[i] = b[Int(rng.next() % UInt64(b.count))] }
            let ma = median(sa)
            ratios.append(ma > 0 ? median(sb) / ma : .infinity)
        }
        ratios.sort()
        return RatioInterval(low: ratios[Int(Double(resamples) * 0.025)], high: ratios[Int(Double(resamples) * 0.975) - 1],
                             level: 0.95, resamples: resamples, seed: seed)
    }
}
