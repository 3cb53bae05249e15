// The `go` runtime of this workload: the Go reference program's `spawn-join`: `batch` goroutines
// and a sync.WaitGroup. GoVariant runs it and maps its output; this file says which program
// workload and flags (baselines/go/README.md).
extension SpawnJoinParameters: GoReferenceWorkload {
    func goWorkload(_ c: RunConfiguration) throws -> (name: String, arguments: [String], workers: Int) {
        ("spawn-join", ["-batch", String(batch)], 1)
    }
}
