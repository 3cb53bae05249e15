import ArgumentParser
import Foundation
import TimesliceHost
import TimesliceLab

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run experiments: every configuration in its own child process under a watchdog.",
        discussion: "Results go to <out>/<experiment>/<UTC timestamp>/: results.json, summary.csv and one .hgrm per configuration, rewritten after each configuration. Everything (files, options, placements on this host, the results directory) is checked before anything runs. SIGINT, SIGTERM or SIGHUP stop the sweep: the running configuration is killed, results.json keeps the finished ones with \"interrupted\": true; a second signal exits at once. Exit status: 0 success, 64 bad input, 1 when a configuration errored or timed out or the environment failed (e.g. the results directory cannot be written), 128 + signal when interrupted.")

    @Argument(help: "Experiment files, or names of shipped experiments (see `timeslice list`).")
    var files: [String]

    @Option(help: "Directory under which results are written.")
    var out = "results"

    @Flag(help: "Smoke run: at most 1 s per configuration, 200 ms warm-up, one repetition.")
    var quick = false

    @Option(name: .customLong("repeat"), help: "Repetitions per configuration, 1...1000 (overrides the file).")
    var repetitions: Int?

    @Option(help: "Run only configurations whose id has all these comma-separated key=value fields, e.g. rt=timeslice,preempt=async.")
    var only: String?

    @Flag(help: "Write a Chrome/Perfetto trace per timeslice configuration: <config>.trace.json in the results directory (open in ui.perfetto.dev or chrome://tracing).")
    var trace = false

    func run() throws {
        let options = SweepOptions(quick: quick, repetitions: repetitions, only: only, trace: trace)
        if let problem = options.problem() { fail(problem, ExitCodes.badInput) }
        // Validate everything before running anything: the files, then each sweep against this
        // host (placements, --only), then the results directory.
        var runners: [SweepRunner] = []
        for file in files {
            let spec: ExperimentSpec
            do { spec = try SpecDecoder.decode(file: ExperimentCatalog.resolve(file)) } catch {
                fail("\(error)", ExitCodes.badInput)
            }
            let runner = SweepRunner(spec: spec, options: options, outRoot: out) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            do { _ = try runner.checkHost() } catch { fail("\(error)", ExitCodes.badInput) }
            runners.append(runner)
        }
        do { try OutputDirectory.prepare(out) } catch let e as OutputDirectory.Failure {
            fail(e.description, e.isBadInput ? ExitCodes.badInput : ExitCodes.environment)
        }
        // From here on SIGINT/SIGTERM/SIGHUP stop the sweep cleanly: the running configuration's
        // process group is killed, results.json says "interrupted": true (see Interrupt).
        do { try Interrupt.install() } catch { fail("cannot install the interrupt handler: \(error)", ExitCodes.environment) }
        var failed = false
        for runner in runners {
            let report: SweepReport
            do { report = try runner.run() } catch let e as SweepError {
                fail(e.description, ExitCodes.badInput)
            } catch let e as OutputDirectory.Failure {
                fail(e.description, e.isBadInput ? ExitCodes.badInput : ExitCodes.environment)
            } catch {
                fail("\(runner.name): \(error)", ExitCodes.environment)
            }
            print("\n\(runner.name)  (\(report.directory))")
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

/// Prints the message (one line per problem) to stderr and exits with `code`.
func fail(_ message: String, _ code: ExitCode) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    TimesliceCommand.exit(withError: code)
}
