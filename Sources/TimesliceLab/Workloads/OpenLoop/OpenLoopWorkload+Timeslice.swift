// The open-loop server on the Timeslice runtime. The main goroutine is the generator: it sleeps
// on the runtime's timers until each request's intended arrival and sends it on a buffered
// Channel; `workers` goroutines (default one per P) receive, burn the service time (`CPUWork`) and
// record completion − intended arrival.
//
// What the runtime is judged on: while a worker burns through a 1 ms request, can the 1 µs
// requests behind it, and the generator itself, still get a CPU? Under cooperative scheduling
// at 1 P they cannot (the generator does not even run, so requests pile up, later sent in a
// burst, each still charged from its intended time); async preemption with a short slice lets
// another worker, and the generator, in. With no more workers than Ps preemption can only let
// the generator in (the queued 1 µs requests still wait for a worker), so experiments set
// `workers` above `max_procs`.
import Timeslice

extension OpenLoopWorkload {
    /// Room for the generator to run ahead of the workers by this many requests before `send`
    /// blocks it. Blocking would not distort latencies (they start at the intended time) but
    /// would delay the requests behind it, so the buffer is ample: 4096 µs-scale requests.
    static let channelCapacity = 4096

    /// `service` replaces the CPU work (tests stall a worker with it).
    func runTimeslice(_ context: WorkloadContext, service: Service? = nil) throws -> WorkloadResult {
        let p = self.p
        let work = CPUWork.calibrate()
        let service = service ?? Self.cpuService(p, work)
        let seed = context.configuration.seed
        var (result, rt) = try RuntimeBridge.run(context) { () -> WorkloadResult in
            let workers = p.workers ?? Runtime.maxProcs
            let requests = Channel<OpenLoopRequest>(capacity: Self.channelCapacity)
            let tallies = ResultSlots<OpenLoopTally>(count: workers)
            let group = WaitGroup()
            let window = context.window()
            for i in 0..<workers {
                group.add(1)
                go {
                    tallies.set(i, Self.serve(next: requests.receive, service: service, progress: context.progress))
                    group.done()
                }
            }
            let (generated, lag) = Self.generate(p, seed: seed, window: window,
                                                 sleepUntil: Timeslice.sleep(untilMonotonic:), send: requests.send)
            requests.close()
            group.wait()
            return Self.result(tallies, workers: workers, generated: generated, lag: lag, window: window, work: work)
        }
        result.addCounters(rt)
        return result
    }
}
