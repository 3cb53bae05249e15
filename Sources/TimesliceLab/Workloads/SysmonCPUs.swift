// The `sysmon` axis's `apart`: which CPU sysmon gets (SysmonPlacementChoice).
//
// sysmon goes on a usable CPU that no worker uses. The workers' CPUs are those the workload
// confined the runtime to (the server's: ServerCPUs) or, otherwise, those the `placement`
// axis pins the Ms to; with placement `none` and no confinement the workers may run anywhere,
// so there is no CPU apart from them and the configuration fails with the fix. Among the free
// CPUs, one the experiment uses for nothing else comes first (the load generator's CPU is
// the last resort, and the note says sysmon shares it).
import Timeslice
import TimesliceHost

struct SysmonCPUs {
    /// Workload kinds that confine the runtime to CPUs of their own choosing (and pass them to
    /// `apart`); every other kind needs a `placement` for `apart` (checked when the file is read).
    static let confiningWorkloads: Set<String> = [ServerParameters.kind]

    /// The problem with asking for sysmon `apart` at `point` under a `workload` kind, or nil.
    static func problem(_ point: MatrixPoint, workload: String) -> String? {
        guard point.sysmon == .apart, point.effectivePlacement == .none, !confiningWorkloads.contains(workload) else { return nil }
        return "point \(point.id) asks for sysmon \"apart\" but its workers may run on every CPU (placement \"none\"); "
            + "give a placement such as \"compact\" with max_procs below the CPU count, or exclude the pair"
    }

    /// The CPUs the process may use (before any confinement of the runtime's thread).
    var usable: CPUSet
    /// The CPUs the runtime was confined to.
    var workers: CPUSet
    /// Free CPUs that something else of the experiment uses (the load generator's).
    var busy: CPUSet = []

    /// sysmon's CPU, the usable CPUs the runtime may then place threads on, and the note.
    static func apart(_ c: RunConfiguration, confined: SysmonCPUs?) throws -> (cpu: Int, usable: CPUSet, note: String) {
        let layout: SysmonCPUs
        if let confined {
            layout = confined
        } else {
            // Checked when the file was read (SpecDecoder); a hand-made configuration may still get here.
            if let problem = problem(c.point, workload: c.workload.kind) { throw WorkloadFailure(problem) }
            let host = HostSnapshot.capture()
            let maxProcs = RuntimeBridge.configuration(c).resolvedMaxProcs
            let plan = try PlacementResolver(host: host).resolve(PlacementSpec(workers: c.placement.policy), workers: maxProcs)
            layout = SysmonCPUs(usable: host.allowed, workers: plan.workerCPUs.reduce(CPUSet()) { $0.union($1) })
        }
        return try layout.choose()
    }

    func choose() throws -> (cpu: Int, usable: CPUSet, note: String) {
        let free = usable.subtracting(workers)
        if let cpu = free.subtracting(busy).sorted.first {
            return (cpu, usable, "sysmon apart on cpu \(cpu) (workers on \(workers.listString))")
        }
        if let cpu = free.sorted.first {
            return (cpu, usable, "sysmon apart on cpu \(cpu), SHARED with the load generator (workers on \(workers.listString); no other CPU free)")
        }
        throw WorkloadFailure("sysmon \"apart\": no usable CPU outside the workers' \(workers.listString) (usable: \(usable.listString)); "
            + "lower max_procs so that one is left")
    }
}
