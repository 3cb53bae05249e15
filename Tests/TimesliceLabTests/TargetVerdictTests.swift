// How the benches judge an issue's target (TargetVerdict.swift): by the 95 % interval of the
// median, not the median alone, so a noisy VM gives "undecided" instead of a coin toss.
@testable import TimesliceLab
import XCTest

final class TargetVerdictTests: XCTestCase {
    func testTheIntervalDecides() {
        XCTAssertEqual(TargetVerdict.text(2.9, ci: [2.1, 3.4], target: 3.5, unit: "%"),
                       "2.90% [95 % CI 2.10%..3.40%] <= 3.5% met")
        XCTAssertEqual(TargetVerdict.text(9.0, ci: [7.2, 10.8], target: 7, unit: "%"),
                       "9.00% [95 % CI 7.20%..10.80%] > 7.0% MISSED")
        // The median is below the target, but the interval reaches above it.
        XCTAssertEqual(TargetVerdict.text(6.5, ci: [5.0, 8.0], target: 7, unit: "%"),
                       "6.50% [95 % CI 5.00%..8.00%] contains 7.0%: undecided")
        XCTAssertEqual(TargetVerdict.text(-1.3, ci: [-2.5, -0.2], target: 0.4, unit: "%"),
                       "-1.30% [95 % CI -2.50%..-0.20%]: below the baseline, noise (no verdict)")
        // An interval reaching below zero but also above the target is still undecided.
        XCTAssertEqual(TargetVerdict.text(-0.5, ci: [-2, 1], target: 0.4, unit: "%"),
                       "-0.50% [95 % CI -2.00%..1.00%] contains 0.4%: undecided")
    }

    func testWithoutAnIntervalTheMedianDecides() {
        XCTAssertEqual(TargetVerdict.text(3.69, ci: nil, target: 1.3, unit: "x"), "3.69x > 1.3x MISSED")
        XCTAssertEqual(TargetVerdict.text(1.1, ci: nil, target: 1.3, unit: "x"), "1.10x <= 1.3x met")
        XCTAssertEqual(TargetVerdict.text(-8.4, ci: nil, target: 1.3, unit: "x"),
                       "-8.40x: below the baseline, noise (no verdict)")
    }

    /// The interval is the bootstrap of the median over the rounds, reproducible from its seed.
    func testTheIntervalIsTheMediansBootstrap() {
        let values: [Double] = [5, 9, 6, 7, 30, 6.5, 8, 7.5, 6, 9.5, 7, 8.5, 6, 7, 10]
        let a = RepetitionAggregator.bootstrapMedianCI(values, seed: 1, statistic: "x")
        let b = RepetitionAggregator.bootstrapMedianCI(values, seed: 1, statistic: "x")
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.statistic, "x")
        XCTAssertLessThanOrEqual(a.low, 7)   // the median, 7, lies inside
        XCTAssertGreaterThanOrEqual(a.high, 7)
        XCTAssertLessThan(a.high, 30, "one outlier round does not carry the interval")
    }
}
