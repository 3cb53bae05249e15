// Matrix expansion: the cartesian product of the axes (first axis varies slowest, values in
// the order written), minus points matching an `exclude` entry, plus `include` entries (each
// the matrix's first point overridden by the entry's axes). Points are then normalized (axes
// that do not apply to the runtime, nor by the workload's extraAxes, dropped) and deduplicated keeping the first occurrence, so
// the order is stable and each id appears once.

public enum MatrixExpansion {
    public static func expand(_ spec: ExperimentSpec) -> [MatrixPoint] {
        let m = spec.matrix
        var product: [MatrixPoint] = []
        for runtime in m.runtime {
            for procs in m.maxProcs {
                for preemption in m.preemption {
                    for slice in m.timeSliceNanoseconds {
                        for placement in m.placement {
                            for lock in m.lockOSThread {
                                for numa in m.numaNode {
                                    for hogs in m.hogs {
                                        for rate in m.rate {
                                            for sysmon in m.sysmon {
                                                product.append(MatrixPoint(
                                                    runtime: runtime, maxProcs: procs, preemption: preemption,
                                                    timeSliceNanoseconds: slice, placement: placement,
                                                    lockOSThread: lock, numaNode: numa, hogs: hogs, rate: rate,
                                                    sysmon: sysmon))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let kept = product.filter { point in !spec.exclude.contains { $0.matches(point) } }
        let added = spec.include.map { $0.apply(to: m.firstPoint) }
        var seen = Set<String>()
        var result: [MatrixPoint] = []
        for point in (kept + added).map({ $0.normalized(keeping: spec.workload.extraAxes(for: $0.runtime)) })
        where seen.insert(point.id).inserted {
            result.append(point)
        }
        return result
    }
}
