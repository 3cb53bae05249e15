// The `go` runtime of this workload: the Go reference program's `throughput`: one goroutine per
// task (default GOMAXPROCS). GoVariant runs it and maps its output; this file says which program
// workload and flags (baselines/go/README.md).
extension ThroughputParameters: GoReferenceWorkload {
    func goWorkload(_ c: RunConfiguration) throws -> (name: String, arguments: [String], workers: Int) {
        ("throughput", ["-work_unit", String(workUnit)] + (tasks.map { ["-tasks", String($0)] } ?? []),
         tasks ?? c.point.maxProcs ?? UsableCPUs.count())
    }
}
