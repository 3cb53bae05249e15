// `timeslice merge`: join the shards of one sweep (logic in TimesliceLab/Execution/SweepMerge).
import ArgumentParser
import Foundation
import TimesliceLab

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the run directories of a sharded sweep (`run --shard K/N`) into one run.",
        discussion: "Every configuration appears once, in plan order; histograms are rebuilt exactly from each shard's configs/ and repetitions are aggregated across shards; each shard's host and environment are kept (merged_from, and a host per configuration).")

    @Argument(help: "The shards' run directories, e.g. shards/*/quickstart/*.")
    var directories: [String]

    @Option(help: "Directory under which the merged run is written.")
    var out = "results"

    @Flag(help: "Print the summary as one JSON object on stdout instead of the table.")
    var json = false

    func run() throws {
        let report = runSweep(name: "merge") {
            try SweepMerge.merge(directories, outRoot: out) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        }
        try finishReport(report, all: [report], json: json, last: true)
    }
}
