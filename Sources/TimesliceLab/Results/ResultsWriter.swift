// Owns one run directory `results/<experiment>/<UTC timestamp>/`. Append-only while the sweep
// runs, so the cost of recording a configuration does not grow with the number done:
//
//   at the start        results.json (the index: spec, effective_spec, effective, planned,
//                       `configs: []`), summary.csv's header, `configs/`;
//   after each config   its .hgrm files and their `.hgrm.json` sidecars (and schedtrace; a trace
//                       the child wrote itself is only listed), then `configs/<stem>.json` (the
//                       configuration's results.json entry plus its histogram buckets), then one
//                       summary.csv row appended;
//   at the end, or on   results.json rewritten whole (every configuration in `configs`,
//   an interrupt        aggregates, merged .hgrm, cross-checks) and summary.csv rewritten.
//
// A file is written before anything that names it. A runner killed by SIGKILL leaves every
// finished configuration in configs/; `timeslice resume DIR` rebuilds the index from there and
// runs the rest (SweepRunner.resume). Whole files are replaced atomically (see AtomicFile).
import Foundation
import Histogram

public final class ResultsWriter {
    public let directory: String
    public private(set) var document: ResultsDocument
    /// Histograms of every appended run, parallel to `document.configs`, for merging repetitions
    /// and cross-checks (the JSON holds summaries only).
    private var histograms: [Histogram<UInt64>?] = []
    private var rawHistograms: [Histogram<UInt64>?] = []
    /// Seeds the bootstrap of the aggregates (the experiment's seed: reruns reproduce the CI).
    private let seed: UInt64

    /// Creates the run directory. The timestamp is UTC with '-' for ':' (portable file names);
    /// a second run within the same second gets a "-2", "-3"... suffix instead of overwriting.
    /// Creates `<base>/<UTC timestamp>` (or `-2`, `-3`... if taken) and returns it.
    /// mkdir is the uniqueness check: it fails if another run took the name first.
    static func makeRunDirectory(in base: String, now: Date) throws -> String {
        try OutputDirectory.create(base)
        let stamp = timestamp(now)
        var dir = "\(base)/\(stamp)"
        var n = 2
        while mkdir(dir, 0o755) != 0 {
            guard errno == EEXIST else { throw OutputDirectory.failure(creating: dir, errno: errno, option: nil) }
            dir = "\(base)/\(stamp)-\(n)"
            n += 1
        }
        return dir
    }

    public init(root: String, document: ResultsDocument, now: Date = Date(), seed: UInt64 = 1) throws {
        directory = try Self.makeRunDirectory(in: "\(root)/\(document.experiment)", now: now)
        self.document = document
        self.seed = seed
        try OutputDirectory.create("\(directory)/\(Self.configsDirectory)")
        try AtomicFile.write(SummaryCSV.render(document.configs), to: "\(directory)/summary.csv")
        try writeIndex()
    }

    /// Continues an existing run directory (`timeslice resume`): `records` are the configurations
    /// already in configs/, in plan order; summary.csv is rewritten with them.
    public init(resuming directory: String, document: ResultsDocument, records: [ConfigRecord], seed: UInt64 = 1) throws {
        self.directory = directory
        self.document = document
        self.seed = seed
        self.document.configs = records.map(\.config)
        for r in records {
            histograms.append(try r.histogram())
            rawHistograms.append(try r.rawHistogram())
        }
        try OutputDirectory.create("\(directory)/\(Self.configsDirectory)")
        try AtomicFile.write(SummaryCSV.render(self.document.configs), to: "\(directory)/summary.csv")
        try writeIndex()
    }

    /// Per-configuration files, one `<stem>.json` each (ConfigRecord).
    public static let configsDirectory = "configs"

    public static func timestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH-mm-ss'Z'"
        return f.string(from: date)
    }

    public static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    /// The date an `iso8601(_:)` string names, or nil when it is not one.
    public static func date(iso8601 text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }

    /// A file-name-safe form of a configuration id: `=` and `,` are kept (they are safe and keep
    /// the name readable), anything else outside [A-Za-z0-9._-] becomes '_'.
    public static func fileStem(id: String, repetition: Int, repetitions: Int) -> String {
        let safe = String(id.map { $0.isASCII && ($0.isLetter || $0.isNumber || "=,._-+".contains($0)) ? $0 : "_" })
        return repetitions > 1 ? "\(safe).rep\(repetition)" : safe
    }

    /// Records one finished configuration run: its files, then configs/<stem>.json, then its
    /// summary.csv row. Neither results.json nor anything else grows-and-rewrites here.
    public func append(_ run: ConfigRun, stem: String) throws {
        var result = run.result
        for (kind, path) in run.childFiles where (path as NSString).deletingLastPathComponent == directory {
            result.files[kind] = (path as NSString).lastPathComponent
        }
        if let histogram = run.histogram {
            try writeHgrm(histogram, name: "\(stem).hgrm", id: result.id, repetition: result.repetition, distribution: "latency_ns")
            result.files["hgrm"] = "\(stem).hgrm"
        }
        if let raw = run.rawHistogram, raw.totalCount > 0 {
            try writeHgrm(raw, name: "\(stem).raw.hgrm", id: result.id, repetition: result.repetition, distribution: "latency_raw_ns")
            result.files["hgrm_raw"] = "\(stem).raw.hgrm"
        }
        for (kind, text) in run.extraFiles.sorted(by: { $0.key < $1.key }) {
            let name = "\(stem).\(kind).txt"
            try AtomicFile.write(text, to: "\(directory)/\(name)")
            result.files[kind] = name
        }
        let record = ConfigRecord(config: result, latencyBuckets: run.histogram.map(LatencyRecorder.buckets),
                                  rawLatencyBuckets: run.rawHistogram.map(LatencyRecorder.buckets))
        try AtomicFile.write(try Self.encoder().encode(record), to: "\(directory)/\(Self.configsDirectory)/\(stem).json")
        try AtomicFile.append(SummaryCSV.row(result), to: "\(directory)/summary.csv")
        document.configs.append(result)
        histograms.append(run.histogram)
        rawHistograms.append(run.rawHistogram)
    }

    /// A .hgrm and its `.hgrm.json` sidecar (HgrmSidecar), the histogram first.
    private func writeHgrm(_ h: Histogram<UInt64>, name: String, id: String, repetition: Int?, distribution: String) throws {
        try AtomicFile.write(HgrmWriter.render(h), to: "\(directory)/\(name)")
        let sidecar = HgrmSidecar(experiment: document.experiment, id: id, repetition: repetition, distribution: distribution,
                                  latencyMeaning: document.latencyMeaning, hgrm: name, count: h.totalCount)
        try AtomicFile.write(try Self.encoder().encode(sidecar), to: "\(directory)/\(name).json")
    }

    /// Rebuilds `aggregates` for every id with two or more runs so far, writing merged .hgrm files.
    private func summarizeRepetitions() throws {
        var order: [String] = []
        var byID: [String: [Int]] = [:]
        for (i, c) in document.configs.enumerated() {
            if byID[c.id] == nil { order.append(c.id) }
            byID[c.id, default: []].append(i)
        }
        var aggregates: [ConfigAggregate] = []
        for id in order {
            guard let idx = byID[id], idx.count > 1 else { continue }
            var (aggregate, merged) = RepetitionAggregator.aggregate(
                id: id, results: idx.map { document.configs[$0] }, histograms: idx.map { histograms[$0] },
                rawHistograms: idx.map { rawHistograms[$0] }, seed: seed)
            if let merged {
                let name = Self.fileStem(id: id, repetition: 0, repetitions: 1) + ".merged.hgrm"
                try writeHgrm(merged, name: name, id: id, repetition: nil, distribution: "latency_ns")
                aggregate.hgrm = name
            }
            aggregates.append(aggregate)
        }
        document.aggregates = aggregates
    }

    /// `interrupted`: the sweep was stopped by a signal (results.json `"interrupted": true`).
    /// Writes the complete results.json (and summary.csv) once: at the end of the sweep or when
    /// a signal stopped it. `interrupted`: results.json `"interrupted": true`.
    public func finish(at date: Date = Date(), interrupted: Bool = false) throws {
        // Plan order (a resume appends the missing runs after the recorded ones).
        let byOrder = document.configs.indices.sorted { (document.configs[$0].order ?? Int.max, $0) < (document.configs[$1].order ?? Int.max, $1) }
        document.configs = byOrder.map { document.configs[$0] }
        histograms = byOrder.map { histograms[$0] }
        rawHistograms = byOrder.map { rawHistograms[$0] }
        try summarizeRepetitions()
        document.crosschecks = CrossCheck.verdicts(document.configs, rawHistograms: rawHistograms)
        document.finishedAt = Self.iso8601(date)
        document.interrupted = interrupted
        try AtomicFile.write(SummaryCSV.render(document.configs), to: "\(directory)/summary.csv")
        try writeIndex()
    }

    private func writeIndex() throws {
        try AtomicFile.write(try Self.encoder().encode(document), to: "\(directory)/results.json")
    }

    static func encoder() -> JSONEncoder {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return enc
    }
}

/// `configs/<stem>.json`: one finished configuration run, as its results.json `configs` entry
/// (`config`) plus the histogram buckets (`[value, count]` pairs, LatencyRecorder.buckets) that
/// rebuild its histograms exactly, for merging repetitions after a `resume`.
public struct ConfigRecord: Codable, Sendable {
    public var config: ConfigResult
    public var latencyBuckets: [[UInt64]]?
    public var rawLatencyBuckets: [[UInt64]]?

    enum CodingKeys: String, CodingKey {
        case config, latencyBuckets = "latency_buckets", rawLatencyBuckets = "raw_latency_buckets"
    }

    func histogram() throws -> Histogram<UInt64>? {
        try latencyBuckets.map { try LatencyRecorder(buckets: $0).histogram }
    }

    func rawHistogram() throws -> Histogram<UInt64>? {
        try rawLatencyBuckets.map { try LatencyRecorder(buckets: $0).histogram }
    }

    /// Every record in `<run dir>/configs`, by file stem; a file that does not decode (cut short
    /// by a crash of the machine) is skipped, so its configuration runs again.
    public static func load(directory: String) -> [String: ConfigRecord] {
        let dir = "\(directory)/\(ResultsWriter.configsDirectory)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var out: [String: ConfigRecord] = [:]
        for name in names where name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: "\(dir)/\(name)"),
                  let record = try? JSONDecoder().decode(ConfigRecord.self, from: data) else { continue }
            out[String(name.dropLast(5))] = record
        }
        return out
    }
}
