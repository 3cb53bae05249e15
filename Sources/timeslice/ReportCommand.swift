import ArgumentParser
import Foundation
import TimesliceLab

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw a run's figures (PNG and SVG) and write a self-contained report.html into its directory.",
        discussion: "Works for any experiment: the latency-by-percentile spectrum (log tail axis), the CDF, p50/p99/p99.9 against every matrix axis that varies, and per-configuration bars with starved and censored rows marked. report.html holds the tables (per configuration, across repetitions with CI), warnings and interference warnings, cross-check verdicts, provenance and environment, with the figures embedded. The drawing is Python (notebooks/timeslice_report.py) run with the repository's .venv; `make notebooks` or scripts/notebooks.sh creates it. Exit status: 0 success, 64 bad input, 1 when the Python environment is missing or the script failed.")

    @Argument(help: "A run directory: <results>/<experiment>/<UTC timestamp> (holding results.json).")
    var runDirectory: String

    @Option(help: "Write the files here instead of the run directory.")
    var out: String?

    @Option(help: "Python interpreter to use instead of the repository's .venv/bin/python (needs matplotlib and pandas).")
    var python: String?

    func run() throws {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let dir = (runDirectory as NSString).standardizingPath
        do {
            let tool = try ReportTool.locate(executable: exe, python: python)
            print(try tool.run(runDirectory: dir, out: out), terminator: "")
        } catch let e as ReportTool.Failure {
            fail(e.description, e.isBadInput ? ExitCodes.badInput : ExitCodes.environment)
        } catch {
            fail("report: \(error)", ExitCodes.environment)
        }
    }
}
