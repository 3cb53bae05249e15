import ArgumentParser
import Foundation
import TimesliceLab

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two runs per configuration id (B/A at p50, p99, p99.9), or one run's configurations against a baseline.",
        discussion: """
            timeslice compare RUN_A RUN_B              every configuration id in both runs, B relative to A
            timeslice compare RUN --within [--baseline SELECTOR]
                                                       every configuration relative to the baseline (default: the first)

            Ratios are of the repetitions-merged percentiles (results.json aggregates). With ≥ 2 repetitions on both sides, a bootstrap 95% CI of median(B reps)/median(A reps) decides the verdict: "B is 1.80× ± 0.18 slower at p99", or "no significant difference" when the CI contains 1. Censored (starved) sides give bounds only. Configurations present on one side only are listed. Exit status: 0 success, 64 bad input.
            """)

    @Argument(help: "Run directories (holding results.json): RUN_A RUN_B, or one RUN with --within.")
    var runs: [String]

    @Flag(help: "Compare the configurations of one run against a baseline configuration of the same run.")
    var within = false

    @Option(help: "With --within: the baseline configuration, an id or key=value fields selecting exactly one (e.g. rt=threads,hogs=0).")
    var baseline: String?

    @Option(help: "Bootstrap seed (default: the seed of run A's experiment).")
    var seed: UInt64?

    @Flag(help: "Print the comparison as JSON instead of a table.")
    var json = false

    func run() throws {
        if within ? runs.count != 1 : runs.count != 2 {
            fail(within ? "compare --within takes one run directory" : "compare takes two run directories (RUN_A RUN_B), or one with --within",
                 ExitCodes.badInput)
        }
        if baseline != nil && !within { fail("--baseline applies only with --within", ExitCodes.badInput) }
        let comparison: RunComparison
        do {
            let a = try ComparableRun.load(runs[0])
            if within {
                let base = try RunComparison.resolveBaseline(baseline, in: a)
                comparison = RunComparison(within: a, baseline: base, seed: seed ?? a.seed ?? 1)
            } else {
                comparison = RunComparison(a, try ComparableRun.load(runs[1]), seed: seed ?? a.seed ?? 1)
            }
        } catch {
            fail("compare: \(error)", ExitCodes.badInput)
        }
        print(json ? try comparison.json() : comparison.table(), terminator: "")
    }
}
