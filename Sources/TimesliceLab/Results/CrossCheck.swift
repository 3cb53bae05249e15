// The cyclictest cross-check: wherever a run has `threads` and `cyclictest` rows of the wakeup
// workload at the same placement, their raw distributions (one sample per wake-up, every
// repetition merged) are compared as a whole and the verdict goes into results.json. Two
// instruments measuring the same thing must agree, or the lab's numbers are suspect.
import Histogram

enum CrossCheck {
    static func verdicts(_ configs: [ConfigResult], rawHistograms: [Histogram<UInt64>?]) -> [CrossCheckVerdict] {
        var threads: [String: Histogram<UInt64>] = [:], cyclictest: [String: Histogram<UInt64>] = [:]
        var order: [String] = []
        for (c, h) in zip(configs, rawHistograms) {
            // Only idle probes: cyclictest runs no hogs, so a loaded threads row has no counterpart.
            guard let p = c.config.workload.parameters(as: WakeupParameters.self), p.hogs == 0, let h, h.totalCount > 0 else { continue }
            let key = c.config.point.effectivePlacement.idText
            switch c.config.point.runtime {
            case .threads: merge(h, into: &threads[key])
            case .cyclictest: merge(h, into: &cyclictest[key])
            default: continue
            }
            if !order.contains(key) { order.append(key) }
        }
        return order.compactMap { key in
            guard let a = threads[key], let b = cyclictest[key] else { return nil }
            return CrossCheckVerdict(reference: "rt=threads,place=\(key)", candidate: "rt=cyclictest,place=\(key)", a, b)
        }
    }

    private static func merge(_ h: Histogram<UInt64>, into slot: inout Histogram<UInt64>?) {
        if slot == nil { slot = h } else { slot!.add(h) }
    }
}
