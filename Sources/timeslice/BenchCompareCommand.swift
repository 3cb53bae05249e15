// `timeslice bench-compare A B`: two builds' micro suites, paired (logic in
// TimesliceLab/Bench/BuildComparison.swift).
import ArgumentParser
import Foundation
import TimesliceHost
import TimesliceLab

struct BenchCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-compare",
        abstract: "Is build B of timeslice slower than build A? Their micro suites (yield, channel, spawn+join at maxProcs 1 and 2), paired by round, each ratio with a bootstrap 95% interval.",
        discussion: "Every round runs each build from a fresh copy of its file, in ABBA order: on a VM one build's figures move by up to 40% between invocations and between byte-identical copies of its file, so two single `bench` runs, or a bisect building one file per commit, mostly measure the copy. Verdict per row: \"B slower\" when the whole interval of B/A is above 1, \"B faster\" below, else \"no difference shown\". One round takes two micro suites (~20 s here). SIGINT, SIGTERM or SIGHUP stop it (the running suite is killed, the copies removed). Exit status: 0 success, 64 bad input, 1 when a build could not be measured, 128 + signal when interrupted.")

    @Argument(help: "Build A, the reference: a timeslice binary (e.g. a copy of .build/release/timeslice from the older commit).")
    var a: String

    @Argument(help: "Build B, the candidate.")
    var b: String

    @Option(help: "Rounds (at least 6; 24 resolve about 5% on this VM).")
    var rounds = 8

    @Flag(help: "Shorter suites (bench --quick), for smoke tests.")
    var quick = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        do { try Interrupt.install() } catch { fail("cannot install the interrupt handler: \(error)", ExitCodes.environment) }
        let comparison: BuildComparison
        do {
            comparison = try BuildComparison.measure(a: a, b: b, rounds: rounds, quick: quick) {
                FileHandle.standardError.write(Data("\($0)\n".utf8))
            }
        } catch let e as BuildComparison.Failure {
            if e.interrupted {
                FileHandle.standardError.write(Data("bench-compare: \(e.description)\n".utf8))
                throw ExitCode(128 + (Interrupt.received ?? SIGINT))
            }
            fail("bench-compare: \(e.description)", e.isBadInput ? ExitCodes.badInput : ExitCodes.environment)
        }
        print(json ? try comparison.json() : comparison.table(), terminator: "")
    }
}
