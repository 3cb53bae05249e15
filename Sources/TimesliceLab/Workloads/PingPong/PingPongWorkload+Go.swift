// The `go` runtime of this workload: the Go reference program's `pingpong-chan` (two unbuffered
// channels) or `yield` (runtime.Gosched on a turn flag). GoVariant runs it and maps its output;
// this file says which program workload and flags (baselines/go/README.md).
extension PingPongParameters: GoReferenceWorkload {
    func goWorkload(_ c: RunConfiguration) throws -> (name: String, arguments: [String], workers: Int) {
        (try mechanism.forTasks("goroutines") == .yield ? "yield" : "pingpong-chan", [], 2)
    }
}
