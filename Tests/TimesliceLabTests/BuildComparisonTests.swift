// `timeslice bench-compare`: the pairing and verdicts on canned rounds (no timing), and the
// command end to end on the built binary (structure only: a build against itself on a noisy
// machine may get any verdict).
import Foundation
import XCTest
@testable import TimesliceLab

final class BuildComparisonTests: XCTestCase {
    private func result(_ procs: Int, yield: Double, chan: Double = 100, spawn: Double = 1000) -> MicroBenchmarkResult {
        MicroBenchmarkResult(maxProcs: procs, yieldNanoseconds: yield, channelNanoseconds: chan,
                             spawnJoinNanoseconds: spawn, parkedRSSBytes: 4096)
    }

    /// B's yield is 1.2× A's in every round, whatever the round's level (paired: the rounds'
    /// drift, 100 to 170 ns, is far larger than the difference); channel and spawn+join are
    /// equal on median but B is above A in half the rounds and below in the other half.
    func testPairedRoundsGiveTheRatioAndItsVerdict() throws {
        let levels: [Double] = [100, 170, 120, 150, 110, 160, 130, 140]
        let rounds = levels.enumerated().map { i, level in
            (a: [result(1, yield: level, chan: 100, spawn: 1000)],
             b: [result(1, yield: level * 1.2, chan: i % 2 == 0 ? 90 : 110, spawn: i % 2 == 0 ? 1100 : 900)])
        }
        let rows = try BuildComparison.compare(rounds)
        XCTAssertEqual(rows.map(\.benchmark), ["yield_ns", "chan_ns", "spawn_join_ns"])
        let yield = rows[0]
        XCTAssertEqual(yield.ratio, 1.2, accuracy: 1e-9)
        XCTAssertEqual(yield.ratioCI95[0], 1.2, accuracy: 1e-9)
        XCTAssertEqual(yield.verdict, "B slower")
        XCTAssertEqual(yield.medianA, 135)
        XCTAssertEqual(rows[1].verdict, "no difference shown")
        XCTAssertLessThan(rows[1].ratioCI95[0], 1)
        XCTAssertGreaterThan(rows[1].ratioCI95[1], 1)
        XCTAssertEqual(rows[2].verdict, "no difference shown")

        let faster = try BuildComparison.compare(levels.map { (a: [result(2, yield: $0)], b: [result(2, yield: $0 * 0.9)]) })
        XCTAssertEqual(faster[0].maxProcs, 2)
        XCTAssertEqual(faster[0].verdict, "B faster")
    }

    /// A maxProcs some round of either build lacks is not compared (a ratio needs every round).
    func testAMaxProcsMissingFromARoundGetsNoRow() throws {
        let rounds = (0..<6).map { i in
            (a: [result(1, yield: 100), result(2, yield: 100)],
             b: i == 3 ? [result(1, yield: 100)] : [result(1, yield: 100), result(2, yield: 100)])
        }
        let rows = try BuildComparison.compare(rounds)
        XCTAssertEqual(Set(rows.map(\.maxProcs)), [1])
        XCTAssertEqual(rows.count, 3)
    }

    func testBadArgumentsAreRefusedNamingTheFix() throws {
        XCTAssertThrowsError(try BuildComparison.measure(a: "/bin/true", b: "/bin/true", rounds: 5, quick: true)) { error in
            let failure = error as? BuildComparison.Failure
            XCTAssertEqual(failure?.isBadInput, true)
            XCTAssertTrue(failure?.description.contains("--rounds 5: at least 6") == true, "\(error)")
        }
        XCTAssertThrowsError(try BuildComparison.measure(a: "/nonexistent/timeslice", b: "/bin/true", rounds: 6, quick: true)) { error in
            XCTAssertTrue("\(error)".contains("A /nonexistent/timeslice: not an executable file"), "\(error)")
        }
        // An executable that is not timeslice: a clear failure naming it, not a decoding error.
        XCTAssertThrowsError(try BuildComparison.measure(a: "/bin/true", b: "/bin/true", rounds: 6, quick: true)) { error in
            let failure = error as? BuildComparison.Failure
            XCTAssertEqual(failure?.isBadInput, false)
            XCTAssertTrue(failure?.description.contains("/bin/true") == true && failure?.description.contains("no micro results") == true,
                          "\(error)")
        }
    }

    /// The built binary against itself, 6 quick rounds: every benchmark at maxProcs 1 and 2
    /// gets a row with its interval around its ratio, and the copies are gone afterwards.
    func testTheCommandComparesTheBuiltBinaryWithItself() throws {
        let binary = try builtTimesliceBinary()
        let (code, out, err) = try timesliceCLI(["bench-compare", binary, binary, "--rounds", "6", "--quick", "--json"],
                                                deadlineSeconds: 600)
        XCTAssertEqual(code, 0, err)
        let comparison = try JSONDecoder().decode(BuildComparison.self, from: Data(out.utf8))
        XCTAssertEqual(comparison.rounds, 6)
        XCTAssertEqual(comparison.rows.map { "\($0.benchmark)/\($0.maxProcs)" },
                       ["yield_ns/1", "yield_ns/2", "chan_ns/1", "chan_ns/2", "spawn_join_ns/1", "spawn_join_ns/2"])
        for row in comparison.rows {
            XCTAssertLessThanOrEqual(row.ratioCI95[0], row.ratio, "\(row)")
            XCTAssertGreaterThanOrEqual(row.ratioCI95[1], row.ratio, "\(row)")
        }
        XCTAssertEqual(err.components(separatedBy: "done").count - 1, 6, err)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()))?
            .filter { $0.hasPrefix("timeslice-bench-compare-") } ?? []
        XCTAssertEqual(leftovers, [], "the copies' directory outlived the command")

        let (bad, _, badErr) = try timesliceCLI(["bench-compare", binary, "/nonexistent", "--rounds", "6"], deadlineSeconds: 60)
        XCTAssertEqual(bad, 64)
        XCTAssertTrue(badErr.contains("B /nonexistent: not an executable file"), badErr)
    }
}
