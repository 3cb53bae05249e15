// The default number of Ps (GOMAXPROCS) when the user does not choose one.

/// Go 1.25's default GOMAXPROCS: the affinity count, lowered to the cgroup
/// CPU bandwidth limit.
///
/// Ported from Go 1.25 src/runtime/cgroup_linux.go (found with the `search`
/// tool, defaultGOMAXPROCS / adjustCgroupGOMAXPROCS):
///
///     limit = ceil(limit)       // "any fractional component is rounded up"
///     limit = max(limit, 2)     // "a limit less than 2 is rounded up to 2"
///     if int32(limit) < procs { procs = int32(limit) }
///
/// so the quota floor is 2, not 1: a 0.5-CPU container on a 4-CPU affinity
/// gets 2 Ps, but a 1-CPU affinity still gets 1. We add only the "at least 1"
/// guard for an empty affinity set, which Go cannot see (its getCPUCount never
/// returns 0).
public func defaultMaxProcs(affinity: CPUSet, cgroup: CgroupLimits) -> Int {
    var procs = max(affinity.count, 1)
    if let quota = cgroup.cpuQuotaCores, quota > 0, quota.isFinite {
        let limit = max(quota.rounded(.up), 2)
        if limit < Double(procs) { procs = Int(limit) }
    }
    return procs
}
