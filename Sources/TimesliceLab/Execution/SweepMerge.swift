// `timeslice merge DIR…`: the shards of one sweep (`run --shard K/N`, e.g. the tasks of a Slurm
// array, possibly on several hosts) become one run directory, as if one runner had run the
// whole plan: every configuration once, in plan order; histograms rebuilt exactly from each
// configs/<stem>.json (so repetitions from different shards merge exactly in `aggregates`);
// each shard's host and environment kept (`merged_from`, and a `host` per configuration).
import Foundation
import TimesliceHost

public struct MergedShard: Codable, Sendable {
    public var directory: String
    public var shard: String?
    public var host: String
    public var environment: HostEnvironment
    public var configurations: Int
}

public enum SweepMerge {
    /// Merges the run directories `shards` into a new run directory under `outRoot`.
    public static func merge(_ shards: [String], outRoot: String, progress: (String) -> Void) throws -> SweepReport {
        guard !shards.isEmpty else { throw SweepError(description: "merge: give the run directories of the shards") }
        var documents: [(dir: String, doc: ResultsDocument, records: [String: ConfigRecord])] = []
        for dir in shards {
            let path = "\(dir)/results.json"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SweepError(description: "\(dir): no results.json here: not a run directory of `timeslice run`")
            }
            let doc: ResultsDocument
            do { doc = try JSONDecoder().decode(ResultsDocument.self, from: data) } catch {
                throw SweepError(description: "\(path): cannot be read as results.json (schema_version \(ResultsDocument.schemaVersion)): \(error)")
            }
            documents.append((dir, doc, ConfigRecord.load(directory: dir)))
        }
        let first = documents[0].doc
        var merged: [String: (record: ConfigRecord, host: String)] = [:]
        var shardsSeen = Set<String>()
        var mergedFrom: [MergedShard] = []
        for (dir, doc, records) in documents {
            guard doc.experiment == first.experiment, doc.effectiveSpec == first.effectiveSpec else {
                throw SweepError(description: "\(dir): experiment \(doc.experiment) or its effective_spec differs from \(documents[0].dir)'s: these are not shards of one sweep")
            }
            var unsharded = doc.options, firstUnsharded = first.options
            unsharded.removeValue(forKey: "shard"); firstUnsharded.removeValue(forKey: "shard")
            guard unsharded == firstUnsharded else {
                throw SweepError(description: "\(dir): run with other options (\(unsharded)) than \(documents[0].dir) (\(firstUnsharded))")
            }
            if let shard = doc.options["shard"], !shardsSeen.insert(shard).inserted {
                throw SweepError(description: "\(dir): shard \(shard) is given twice")
            }
            if doc.interrupted == true || records.count < doc.planned {
                throw SweepError(description: "\(dir): \(records.count) of \(doc.planned) configuration runs recorded (interrupted?): finish it with `timeslice resume \(dir)` first")
            }
            let host = doc.provenance?.hostname ?? "unknown"
            for (stem, record) in records {
                if merged[stem] != nil { throw SweepError(description: "\(dir): configuration \(stem) is also in another shard") }
                merged[stem] = (record, host)
            }
            mergedFrom.append(MergedShard(directory: dir, shard: doc.options["shard"], host: host,
                                          environment: doc.environment, configurations: records.count))
        }
        var document = first
        document.configs = []
        document.aggregates = []
        document.crosschecks = []
        document.options.removeValue(forKey: "shard")
        document.planned = merged.count
        document.mergedFrom = mergedFrom
        document.startedAt = documents.map(\.doc.startedAt).min() ?? first.startedAt
        document.warnings = Array(NSOrderedSet(array: documents.flatMap(\.doc.warnings))) as? [String] ?? first.warnings
        let hosts = Set(mergedFrom.map(\.host))
        if hosts.count > 1 {
            document.warnings.append("merged from \(hosts.count) hosts (\(hosts.sorted().joined(separator: ", "))): compare rows of different hosts with care; `host` says which ran each")
        }
        // The bootstrap's seed is the experiment's, as in an unsharded run.
        var seed: UInt64 = 1
        if case .object(let spec)? = first.effectiveSpec, case .integer(let s)? = spec["seed"] { seed = UInt64(max(s, 0)) }
        let writer = try ResultsWriter(root: outRoot, document: document, seed: seed)
        let ordered = merged.sorted { ($0.value.record.config.order ?? Int.max, $0.key) < ($1.value.record.config.order ?? Int.max, $1.key) }
        for (stem, entry) in ordered {
            var result = entry.record.config
            result.host = entry.host
            // Files the shard's child wrote (traces, schedtrace) stay in the shard's directory.
            result.files = [:]
            let run = ConfigRun(result: result, histogram: try entry.record.histogram(),
                                rawHistogram: try entry.record.rawHistogram(), extraFiles: [:])
            try writer.append(run, stem: stem)
        }
        try writer.finish()
        progress("merged \(documents.count) shard\(documents.count == 1 ? "" : "s") (\(merged.count) configuration runs) -> \(writer.directory)")
        return SweepReport(directory: writer.directory, configs: writer.document.configs,
                           table: SummaryTable.render(writer.document, meaning: document.latencyMeaning),
                           planned: merged.count, interruptedBy: nil, aggregates: writer.document.aggregates,
                           experiment: document.experiment)
    }
}
