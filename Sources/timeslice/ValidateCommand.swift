import ArgumentParser
import Foundation
import TimesliceLab

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check experiment files without running them; prints the configurations each would run.",
        discussion: "With --host, also resolves every placement against this machine (CPUs, NUMA nodes, isolation), as `run` does before it creates anything. Exit status: 0 valid, 64 invalid.")

    @Argument(help: "Experiment files, or names of shipped experiments.")
    var files: [String]

    @Flag(help: "Also check that every placement can run on this machine (e.g. {\"explicit\":[999]} or numa_node 7 cannot).")
    var host = false

    func run() throws {
        var bad = false
        for file in files {
            let path = ExperimentCatalog.resolve(file)
            do {
                let file = try SpecDecoder.decode(file: path)
                // As `run` would resolve it: TIMESLICE_* where the file leaves an axis out.
                let runner = SweepRunner(spec: file, options: SweepOptions(environment: ProcessInfo.processInfo.environment),
                                         outRoot: "", progress: { _ in })
                let runs = host ? try runner.checkHost() : try runner.plannedRuns()
                let spec = runner.effective?.spec ?? file
                let points = MatrixExpansion.expand(spec)
                print("\(path): ok\(host ? " on this host" : ""), \(points.count) configuration\(points.count == 1 ? "" : "s") × \(spec.repetitions) repetition\(spec.repetitions == 1 ? "" : "s"): \(SweepRunner.planText(runs: runs.count, expectedSeconds: runner.expectedSeconds(runs: runs.count)))")
                if runner.largeSweepProblem(runs: runs.count) != nil {
                    print("  (above \(DurationFormat.hms(SweepRunner.largeSweepSeconds)) or \(SweepRunner.largeSweepRuns) runs: `run` will ask for --yes)")
                }
                for w in runner.effective?.warnings ?? [] { print("  warning: \(w)") }
                for p in points { print("  \(p.id)") }
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                bad = true
            }
        }
        if bad { throw ExitCodes.badInput }
    }
}
