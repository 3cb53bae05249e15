// The open-loop server on plain pthreads, the baseline for the timeslice variant: a generator
// thread sleeps until each intended arrival (absolute CLOCK_MONOTONIC deadline, timer slack
// 1 ns, as the wakeup probe does) and pushes the request on a mutex/condvar queue; `workers`
// threads (default one per usable CPU) pop, burn the service time (`CPUWork`) and record
// completion − intended arrival.
// The kernel time-slices the workers, so a 1 ms request does not hold back the 1 µs ones as
// long as there is another thread to run them.
//
// Placement: worker 0 is the generator, workers 1…N the server threads.

extension OpenLoopWorkload {
    /// `service` replaces the CPU work (tests stall a worker with it).
    func runThreads(_ context: WorkloadContext, service: Service? = nil) throws -> WorkloadResult {
        let p = self.p
        let work = CPUWork.calibrate()
        let service = service ?? Self.cpuService(p, work)
        let workers = p.workers ?? UsableCPUs.count()
        let pinning = try context.pin(threads: 1 + workers)
        let queue = OpenLoopQueue()
        let tallies = ResultSlots<OpenLoopTally>(count: workers)
        let window = context.window()
        let servers = (0..<workers).map { i in
            OSThread(name: "server\(i)") {
                pinning.pinCurrentThread(worker: i + 1)
                tallies.set(i, Self.serve(next: queue.pop, service: service, progress: context.progress))
            }
        }
        var generated: (generated: UInt64, lag: UInt64) = (0, 0)
        let generator = OSThread(name: "generator") { [p] in
            pinning.pinCurrentThread(worker: 0)
            generated = Self.generate(p, seed: context.configuration.seed, window: window,
                                      sleepUntil: MonotonicClock.sleep(until:), send: queue.push)
            queue.close()
        }
        generator.join()
        servers.forEach { $0.join() }
        return Self.result(tallies, workers: workers, generated: generated.generated, lag: generated.lag,
                           window: window, work: work)
    }
}
