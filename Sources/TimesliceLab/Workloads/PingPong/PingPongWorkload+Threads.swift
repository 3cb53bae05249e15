// Ping-pong between two pthreads: the pinger (worker 0) and the ponger (worker 1) hand a token
// through a futex word (mechanism futex, the default) or a mutex/condvar pair (condvar).
import TimesliceHost

extension PingPongWorkload {
    /// Pinger (worker 0) and ponger (worker 1) pthreads handing a futex word or a condvar token.
    func runThreads(_ context: WorkloadContext) throws -> WorkloadResult {
        try p.mechanism.forThreads() == .condvar
            ? runPair(context, token: CondvarToken()) : runPair(context, token: FutexToken())
    }

    /// Token states.
    private static let pingTurn: UInt32 = 0, pongTurn: UInt32 = 1, finished: UInt32 = 2

    /// The ponger (worker 1) answers every ping until told to finish; the pinger (worker 0)
    /// times each round trip.
    private func runPair(_ context: WorkloadContext, token: some HandoffToken) throws -> WorkloadResult {
        let pinning = try context.pin(threads: 2)
        let ponger = OSThread(name: "pong") {
            pinning.pinCurrentThread(worker: 1)
            while token.await(notEqual: Self.pingTurn) != Self.finished {
                token.set(Self.pingTurn)
            }
        }
        var rec = LatencyRecorder()
        let pinger = OSThread(name: "ping") {
            pinning.pinCurrentThread(worker: 0)
            rec = ClosedLoop.measure(context.window(), progress: context.progress) {
                token.set(Self.pongTurn)
                _ = token.await(notEqual: Self.pongTurn)
            }
            token.set(Self.finished)
        }
        pinger.join()
        ponger.join()
        return WorkloadResult(latency: rec, counters: ["round_trips": rec.count])
    }
}
