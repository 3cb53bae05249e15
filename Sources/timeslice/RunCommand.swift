import ArgumentParser
import Foundation
import TimesliceHost
import TimesliceLab

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run experiments: every configuration in its own child process under a watchdog.",
        discussion: "Results go to <out>/<experiment>/<UTC timestamp>/: results.json, summary.csv and one .hgrm per configuration, rewritten after each configuration. Exit status: 0 success, 64 bad input, 1 when a configuration errored or timed out.")

    @Argument(help: "Experiment files, or names of shipped experiments (see `timeslice list`).")
    var files: [String]

    @Option(help: "Directory under which results are written.")
    var out = "results"

    @Flag(help: "Smoke run: at most 1 s per configuration, 200 ms warm-up, one repetition.")
    var quick = false

    @Option(name: .customLong("repeat"), help: "Repetitions per configuration (overrides the file).")
    var repetitions: Int?

    @Option(help: "Run only configurations whose id has all these comma-separated key=value fields, e.g. rt=timeslice,preempt=async.")
    var only: String?

    @Flag(help: "Write a Chrome/Perfetto trace per timeslice configuration: <config>.trace.json in the results directory (open in ui.perfetto.dev or chrome://tracing).")
    var trace = false

    func run() throws {
        if let repetitions, repetitions < 1 {
            FileHandle.standardError.write(Data("--repeat must be at least 1\n".utf8))
            throw ExitCodes.badInput
        }
        // Validate everything before running anything.
        var specs: [ExperimentSpec] = []
        for file in files {
            do { specs.append(try SpecDecoder.decode(file: ExperimentCatalog.resolve(file))) } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCodes.badInput
            }
        }
        let options = SweepOptions(quick: quick, repetitions: repetitions, only: only, trace: trace)
        // From here on SIGINT/SIGTERM/SIGHUP stop the sweep cleanly: the running configuration's
        // process group is killed, results.json says "interrupted": true (see Interrupt).
        do { try Interrupt.install() } catch {
            FileHandle.standardError.write(Data("cannot install the interrupt handler: \(error)\n".utf8))
            throw ExitCodes.environment
        }
        var failed = false
        for spec in specs {
            let runner = SweepRunner(spec: spec, options: options, outRoot: out) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            let report: SweepReport
            do { report = try runner.run() } catch let e as SweepError {
                FileHandle.standardError.write(Data("\(e)\n".utf8))
                throw ExitCodes.badInput
            } catch {
                FileHandle.standardError.write(Data("\(spec.name): \(error)\n".utf8))
                throw ExitCodes.environment
            }
            print("\n\(spec.name)  (\(report.directory))")
            print(report.table, terminator: "")
            if let signal = report.interruptedBy {
                FileHandle.standardError.write(Data("interrupted: \(report.configs.count)/\(report.planned) configurations saved in \(report.directory)\n".utf8))
                throw ExitCode(128 + signal)
            }
            failed = failed || report.anyFailed
        }
        if failed { throw ExitCodes.configurationFailed }
    }
}
