// The Slurm job of a sharded sweep: an array of N tasks, each `timeslice run FILE --shard K/N`
// on a node of its own (`--exclusive`, so no co-scheduled job pollutes a measurement), and a
// merge job that starts when every task succeeded (`--dependency=afterok`). The scripts name the
// binary and the experiment by absolute path, so they work from any directory of a shared file
// system; nothing here talks to Slurm.
import Foundation

public struct SlurmScripts: Sendable {
    public let experiment: String
    public let experimentFile: String
    public let shards: Int
    public let directory: String
    public let partition: String?
    public let timeLimit: String?
    public let runOptions: [String]
    public let binary: String

    public init(spec: ExperimentSpec, experimentFile: String, shards: Int, directory: String, partition: String? = nil,
                timeLimit: String? = nil, runOptions: [String] = [], binary: String? = nil) throws {
        guard (1...SweepShard.maximumCount).contains(shards) else {
            throw SweepError(description: "--shards \(shards): must be 1...\(SweepShard.maximumCount)")
        }
        if let bad = runOptions.first(where: { $0 == "--shard" || $0.hasPrefix("--shard=") || $0 == "--out" || $0.hasPrefix("--out=") }) {
            throw SweepError(description: "\(bad): set by the Slurm scripts themselves (one shard per task, results under --dir)")
        }
        experiment = spec.name
        self.experimentFile = Self.absolute(experimentFile)
        self.shards = shards
        self.directory = Self.absolute(directory)
        self.partition = partition
        self.timeLimit = timeLimit
        self.runOptions = runOptions
        self.binary = binary ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Single-quoted for sh.
    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    var header: String {
        var lines = ["#!/bin/sh"]
        if let partition { lines.append("#SBATCH --partition=\(partition)") }
        if let timeLimit { lines.append("#SBATCH --time=\(timeLimit)") }
        return lines.joined(separator: "\n")
    }

    public var arrayScript: String {
        let run = "\(Self.quote(binary)) run \(Self.quote(experimentFile)) --shard \"$SLURM_ARRAY_TASK_ID/\(shards)\""
            + " --out \(Self.quote(directory))/shards/\"$SLURM_ARRAY_TASK_ID\" --yes"
            + runOptions.map { " " + Self.quote($0) }.joined()
        return """
        \(header)
        #SBATCH --job-name=timeslice-\(experiment)
        #SBATCH --array=1-\(shards)
        #SBATCH --exclusive
        #SBATCH --nodes=1
        #SBATCH --output=\(directory)/logs/shard-%a.out
        # One shard of \(experiment) per task, alone on its node.
        exec \(run)

        """
    }

    public var mergeScript: String {
        """
        \(header)
        #SBATCH --job-name=timeslice-\(experiment)-merge
        #SBATCH --output=\(directory)/logs/merge.out
        # Runs after every array task succeeded (submit.sh: --dependency=afterok).
        exec \(Self.quote(binary)) merge \(Self.quote(directory))/shards/*/\(Self.quote(experiment))/* --out \(Self.quote(directory))/merged

        """
    }

    public var submitScript: String {
        """
        #!/bin/sh
        # Submits the array, then the merge job that waits for all of it to succeed.
        set -e
        mkdir -p \(Self.quote(directory))/logs
        array=$(sbatch --parsable \(Self.quote(directory))/array.sbatch)
        array=${array%%;*}
        merge=$(sbatch --parsable --dependency=afterok:"$array" \(Self.quote(directory))/merge.sbatch)
        echo "array job $array, merge job ${merge%%;*}"

        """
    }

    /// Writes the three scripts (executable) and returns their paths.
    public func write() throws -> [String] {
        try OutputDirectory.create("\(directory)/logs")
        var paths: [String] = []
        for (name, text) in [("array.sbatch", arrayScript), ("merge.sbatch", mergeScript), ("submit.sh", submitScript)] {
            let path = "\(directory)/\(name)"
            try AtomicFile.write(text, to: path)
            chmod(path, 0o755)
            paths.append(path)
        }
        return paths
    }
}
