// `timeslice bench`: the runtime's micro-benchmarks (logic in TimesliceLab/Bench).
import ArgumentParser
import Foundation
import TimesliceLab

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure yield, channel handoff, spawn+join and parked-goroutine memory at maxProcs 1 and 2.")

    @Flag(help: "Print one JSON object of numbers instead of a table.")
    var json = false

    @Flag(help: "Shorter runs (a tenth of the work), for smoke tests.")
    var quick = false

    func run() throws {
        let report = BenchReport.measure(scale: quick ? 0.1 : 1)
        print(json ? report.json() : report.table())
    }
}
