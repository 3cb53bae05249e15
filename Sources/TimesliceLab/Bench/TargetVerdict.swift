// How a bench judges an issue's target from a median and its bootstrap 95 % interval
// (preemption costs, the echo round-trip ratio): only an interval wholly on one side of the
// target gives a verdict, so the noise of a shared VM reads "undecided", not a coin toss.
import Foundation

enum TargetVerdict {
    /// A target's verdict from the median and its 95 % interval: met when the whole interval
    /// is at or below the target, MISSED when all of it is above, undecided when it contains
    /// the target (the rounds cannot tell), and no verdict when the whole interval is below
    /// zero (a cost below its baseline: other load moved the baseline). Without an interval
    /// (fewer than 2 rounds) the median alone decides.
    static func text(_ value: Double, ci: [Double]?, target: Double, unit: String) -> String {
        func fixed(_ v: Double) -> String { String(format: "%.2f", v) + unit }
        let t = String(format: "%.1f", target) + unit
        guard let ci, ci.count == 2 else {
            if value < 0 { return "\(fixed(value)): below the baseline, noise (no verdict)" }
            return "\(fixed(value)) \(value <= target ? "<=" : ">") \(t) \(value <= target ? "met" : "MISSED")"
        }
        let interval = "\(fixed(value)) [95 % CI \(fixed(ci[0]))..\(fixed(ci[1]))]"
        if ci[1] < 0 { return "\(interval): below the baseline, noise (no verdict)" }
        if ci[1] <= target { return "\(interval) <= \(t) met" }
        if ci[0] > target { return "\(interval) > \(t) MISSED" }
        return "\(interval) contains \(t): undecided"
    }
}
