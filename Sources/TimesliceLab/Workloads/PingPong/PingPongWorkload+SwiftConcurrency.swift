// Ping-pong between two Tasks: over two AsyncStreams (mechanism `channel`, the default here:
// each handoff is a continuation resumed by `yield`), or by passing a turn flag with
// `Task.yield()` (mechanism `yield`). With a pool wider than one thread the two Tasks of
// `yield` spin on different threads, so it measures a cross-thread handoff, not a switch.
import Synchronization

extension PingPongWorkload {
    func runSwiftConcurrency(_ context: WorkloadContext) throws -> WorkloadResult {
        let (base, verify) = try SwiftConcurrencyBridge.prepare(context, workers: 2)
        var result = try p.mechanism.forTasks("Tasks") == .yield ? runTaskYield(context) : runStreams(context)
        verify()
        result.addCounters(base)
        return result
    }

    private func runStreams(_ context: WorkloadContext) throws -> WorkloadResult {
        let progress = context.progress
        let rec = try SwiftConcurrencyBridge.run { () async -> LatencyRecorder in
            var echo = AsyncEcho()
            let rec = await ClosedLoop.measure(context.window(), progress: progress) { await echo.roundTrip(1) }
            await echo.finish()
            return rec
        }
        return WorkloadResult(latency: rec, counters: ["round_trips": rec.count])
    }

    private final class Turn: Sendable {
        /// 0: the pinger's turn, 1: the ponger's.
        let owner = Atomic<Int>(0)
        let finished = Atomic<Bool>(false)
        let yields = Atomic<UInt64>(0)
    }

    private func runTaskYield(_ context: WorkloadContext) throws -> WorkloadResult {
        let progress = context.progress
        let turn = Turn()
        let rec = try SwiftConcurrencyBridge.run { () async -> LatencyRecorder in
            let ponger = Task.detached {
                var n: UInt64 = 0
                while true {
                    while turn.owner.load(ordering: .acquiring) != 1 { await Task.yield(); n += 1 }
                    if turn.finished.load(ordering: .relaxed) { break }
                    turn.owner.store(0, ordering: .releasing)
                }
                turn.yields.add(n, ordering: .relaxed)
            }
            var n: UInt64 = 0
            let window = context.window()
            let rec = await ClosedLoop.measure(window, progress: progress) {
                turn.owner.store(1, ordering: .releasing)
                while turn.owner.load(ordering: .acquiring) != 0 { await Task.yield(); n += 1 }
            }
            turn.finished.store(true, ordering: .relaxed)
            turn.owner.store(1, ordering: .releasing)
            await ponger.value
            turn.yields.add(n, ordering: .relaxed)
            return rec
        }
        return WorkloadResult(latency: rec, counters: ["round_trips": rec.count,
                                                       "task_yields": turn.yields.load(ordering: .relaxed)])
    }
}
