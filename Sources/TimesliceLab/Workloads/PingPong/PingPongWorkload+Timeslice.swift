// Goroutine ping-pong: over two unbuffered channels (a send/receive handoff each way), or by
// yield() on a shared turn flag (the cheapest goroutine switch).
import Synchronization
import Timeslice

extension PingPongWorkload {
    func runTimeslice(_ context: WorkloadContext) throws -> WorkloadResult {
        try p.mechanism.forTasks("goroutines") == .yield ? runYield(context) : runChannel(context)
    }

    private func runChannel(_ context: WorkloadContext) throws -> WorkloadResult {
        let (rec, rt) = try RuntimeBridge.run(context) { () -> LatencyRecorder in
            let ping = Channel<Int>(), pong = Channel<Int>()
            go { while let v = ping.receive() { pong.send(v) } }
            let window = context.window()
            let rec = ClosedLoop.measure(window, progress: context.progress) {
                ping.send(1)
                _ = pong.receive()
            }
            ping.close()
            return rec
        }
        var result = WorkloadResult(latency: rec, counters: ["round_trips": rec.count])
        result.addCounters(rt)
        return result
    }

    private func runYield(_ context: WorkloadContext) throws -> WorkloadResult {
        let turn = Atomic<UInt32>(0)  // 0: pinger's turn, 1: ponger's, 2: finished
        let (rec, rt) = try RuntimeBridge.run(context) { () -> LatencyRecorder in
            go {
                while true {
                    let v = turn.load(ordering: .acquiring)
                    if v == 2 { return }
                    if v == 1 { turn.store(0, ordering: .releasing) } else { yield() }
                }
            }
            let window = context.window()
            let rec = ClosedLoop.measure(window, progress: context.progress) {
                turn.store(1, ordering: .releasing)
                while turn.load(ordering: .acquiring) == 1 { yield() }
            }
            turn.store(2, ordering: .releasing)
            return rec
        }
        var result = WorkloadResult(latency: rec, counters: ["round_trips": rec.count])
        result.addCounters(rt)
        return result
    }
}
