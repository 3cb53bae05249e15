// `timeslice slurm`: write the sbatch scripts of a sharded sweep (logic in TimesliceLab/Execution/SlurmScripts).
import ArgumentParser
import Foundation
import TimesliceLab

struct SlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Write a Slurm job array that runs an experiment in N shards (one exclusive node each) and a dependent job that merges them.",
        discussion: "Writes <dir>/array.sbatch, <dir>/merge.sbatch and <dir>/submit.sh (sbatch the array, then the merge with --dependency=afterok). Nothing is submitted: run submit.sh.")

    @Argument(help: "The experiment file.")
    var file: String

    @Option(help: "Number of shards (array tasks).")
    var shards = 2

    @Option(help: "Directory for the scripts, the shards' results and the merged run.")
    var dir = "slurm"

    @Option(help: "Slurm partition (default: the cluster's default).")
    var partition: String?

    @Option(help: "Time limit per task, as sbatch --time (e.g. 02:00:00).")
    var time: String?

    @Option(parsing: .remaining, help: "Further `timeslice run` options for every shard, e.g. --repeat 5.")
    var runOptions: [String] = []

    func run() throws {
        do {
            let spec = try SpecDecoder.decode(file: ExperimentCatalog.resolve(file))
            let scripts = try SlurmScripts(spec: spec, experimentFile: ExperimentCatalog.resolve(file), shards: shards,
                                           directory: dir, partition: partition, timeLimit: time, runOptions: runOptions)
            for path in try scripts.write() { print(path) }
        } catch {
            fail("\(error)", ExitCodes.badInput)
        }
    }
}
