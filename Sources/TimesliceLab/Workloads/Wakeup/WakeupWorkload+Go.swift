// The `go` runtime of this workload: the Go reference program's the Go program's `wakeup`: its
// probe goroutine locked to a thread pinned as worker 0 (-probe_cpus, see GoVariant), hogs as
// goroutines. GoVariant runs it and maps its output; this file says which program workload and
// flags (baselines/go/README.md).
extension WakeupParameters: GoReferenceWorkload {
    func goWorkload(_ c: RunConfiguration) throws -> (name: String, arguments: [String], workers: Int) {
        ("wakeup", ["-interval", GoInvocation.ns(intervalNanoseconds), "-hogs", String(hogs), "-hog_kind", hogKind.rawValue,
                    "-starvation_timeout", GoInvocation.ns(c.starvationTimeoutNanoseconds)], 1 + hogs)
    }
}
