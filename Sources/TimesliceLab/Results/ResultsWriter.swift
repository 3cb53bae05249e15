// Owns one run directory `results/<experiment>/<UTC timestamp>/` and rewrites its files after
// each configuration: the configuration's .hgrm (and schedtrace, if any; a trace the child wrote
// itself is only listed) first, then
// summary.csv, then results.json last, so that results.json never names a file that is not
// there yet. Each file is replaced atomically (see AtomicFile).
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
        try flush()
    }

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

    /// A file-name-safe form of a configuration id: `=` and `,` are kept (they are safe and keep
    /// the name readable), anything else outside [A-Za-z0-9._-] becomes '_'.
    public static func fileStem(id: String, repetition: Int, repetitions: Int) -> String {
        let safe = String(id.map { $0.isASCII && ($0.isLetter || $0.isNumber || "=,._-+".contains($0)) ? $0 : "_" })
        return repetitions > 1 ? "\(safe).rep\(repetition)" : safe
    }

    /// Records one finished configuration run (its .hgrm files too) and rewrites the files.
    public func append(_ run: ConfigRun, stem: String) throws {
        if let raw = run.rawHistogram, raw.totalCount > 0 {
            try AtomicFile.write(HgrmWriter.render(raw), to: "\(directory)/\(stem).raw.hgrm")
        }
        var result = run.result
        if run.rawHistogram.map({ $0.totalCount > 0 }) ?? false { result.files["hgrm_raw"] = "\(stem).raw.hgrm" }
        histograms.append(run.histogram)
        rawHistograms.append(run.rawHistogram)
        try append(result, histogram: run.histogram, extraFiles: run.extraFiles, childFiles: run.childFiles,
                   stem: stem, aggregate: true)
    }

    /// Records one finished configuration run and rewrites the files.
    /// `childFiles`: kind → path of files the child already wrote into this directory; they are
    /// listed by name (a path elsewhere is ignored: results.json names files of its directory only).
    public func append(_ result: ConfigResult, histogram: Histogram<UInt64>?, extraFiles: [String: String] = [:],
                       childFiles: [String: String] = [:], stem: String, aggregate: Bool = false) throws {
        var result = result
        for (kind, path) in childFiles where (path as NSString).deletingLastPathComponent == directory {
            result.files[kind] = (path as NSString).lastPathComponent
        }
        if let histogram {
            let name = "\(stem).hgrm"
            try AtomicFile.write(HgrmWriter.render(histogram), to: "\(directory)/\(name)")
            result.files["hgrm"] = name
        }
        for (kind, text) in extraFiles.sorted(by: { $0.key < $1.key }) {
            let name = "\(stem).\(kind).txt"
            try AtomicFile.write(text, to: "\(directory)/\(name)")
            result.files[kind] = name
        }
        document.configs.append(result)
        if !aggregate {
            histograms.append(histogram)
            rawHistograms.append(nil)
        }
        try summarizeRepetitions()
        document.crosschecks = CrossCheck.verdicts(document.configs, rawHistograms: rawHistograms)
        try flush()
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
                try AtomicFile.write(HgrmWriter.render(merged), to: "\(directory)/\(name)")
                aggregate.hgrm = name
            }
            aggregates.append(aggregate)
        }
        document.aggregates = aggregates
    }

    /// `interrupted`: the sweep was stopped by a signal (results.json `"interrupted": true`).
    public func finish(at date: Date = Date(), interrupted: Bool = false) throws {
        document.finishedAt = Self.iso8601(date)
        document.interrupted = interrupted
        try flush()
    }

    private func flush() throws {
        try AtomicFile.write(SummaryCSV.render(document.configs), to: "\(directory)/summary.csv")
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try enc.encode(document), to: "\(directory)/results.json")
    }
}
