import ArgumentParser
import Foundation
import TimesliceHost
import TimesliceLab

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish a run whose runner was killed or interrupted: rebuild results.json from configs/ and run the missing configurations.",
        discussion: "The plan is recomputed from results.json `effective_spec` and `options` (not from the experiment file or today's TIMESLICE_* variables); configurations with a configs/<config>.json are kept, the others run, and results.json, summary.csv, aggregates and cross-checks are rewritten with every configuration exactly once. Exit status as `run`.")

    @Argument(help: "The run directory, e.g. results/quickstart/2026-11-25T14-03-07Z.")
    var directory: String

    @Flag(help: "Print the summary as one JSON object on stdout instead of the table.")
    var json = false

    func run() throws {
        let dir = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        do { try Interrupt.install() } catch { fail("cannot install the interrupt handler: \(error)", ExitCodes.environment) }
        let report = runSweep(name: dir) {
            try SweepRunner.resume(directory: dir, progress: { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }, liveStatus: LiveStatusLine.forStderr())
        }
        try finishReport(report, all: [report], json: json, last: true)
    }
}
