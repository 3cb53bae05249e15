// Goroutine ping-pong: over two unbuffered channels (a send/receive handoff each way), or by
// yield() on a shared turn flag (the cheapest goroutine switch).
import Synchronization
import Timeslice

extension PingPongWorkload {
    func runTimeslice(_ context: WorkloadContext) throws -> WorkloadResult {
        switch p.mechanism {
        case .auto, .channel: return try runChannel(context)
        case .yield: return try runYield(context)
        case .futex, .condvar:
            throw WorkloadUnavailable("mechanism \(p.mechanism.rawValue) is a thread mechanism; goroutines use yield or channel")
        }
    }

    private func runChannel(_ context: WorkloadContext) throws -> WorkloadResult {
        let (rec, rt) = try RuntimeBridge.run(context) { () -> LatencyRecorder in
            let ping = Channel<Int>(), pong = Channel<Int>()
            go { while let v = ping.receive() { pong.send(v) } }
            var rec = LatencyRecorder()
            let window = context.window()
            while true {
                let t0 = MonotonicClock.now()
                ping.send(1)
                _ = pong.receive()
                let t1 = MonotonicClock.now()
                context.progress.beat()
                if !window.inWarmup(t0) { rec.record(t1 - t0) }
                if window.isOver(now: t1, recorded: rec.count) { break }
            }
            ping.close()
            return rec
        }
        return WorkloadResult(latency: rec, counters: rt.merging(["round_trips": rec.count]) { a, _ in a })
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
            var rec = LatencyRecorder()
            let window = context.window()
            while true {
                let t0 = MonotonicClock.now()
                turn.store(1, ordering: .releasing)
                while turn.load(ordering: .acquiring) == 1 { yield() }
                let t1 = MonotonicClock.now()
                context.progress.beat()
                if !window.inWarmup(t0) { rec.record(t1 - t0) }
                if window.isOver(now: t1, recorded: rec.count) { break }
            }
            turn.store(2, ordering: .releasing)
            return rec
        }
        return WorkloadResult(latency: rec, counters: rt.merging(["round_trips": rec.count]) { a, _ in a })
    }
}
