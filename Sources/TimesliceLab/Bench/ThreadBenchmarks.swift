// The micro-benchmarks on plain OS threads (one pthread per task), for `timeslice bench`:
//   yield_ns          sched_yield turn-passing ping-pong between two threads: each waits for
//                     its turn calling sched_yield(2); ns per switch = round trip / 2. At
//                     maxProcs 1 both threads are pinned to the same CPU, so every sched_yield
//                     switches to the other thread (the kernel's switch cost); at 2 they are
//                     pinned to two CPUs and it is a cross-CPU handoff, like Go's and
//                     timeslice's yield at 2 Ps.
//   chan_ns           futex handoff: a word passed back and forth with FUTEX_WAIT/FUTEX_WAKE
//                     (private); ns per handoff = round trip / 2. Same pinning as yield.
//   spawn_join_ns     pthread_create of a batch of 1 000 threads that return at once, then
//                     pthread_join of all of them; ns per thread.
//   parked_rss_bytes  RSS growth per thread parked in FUTEX_WAIT, over `parkedCount` (2 000)
//                     threads with glibc's default attributes (8 MiB stack reserved, only the
//                     touched pages are resident).
// The caller runs this in a fresh process (BaselineBenchmarks) restricted to `cpus`, parked RSS
// first so that no earlier benchmark's freed memory is reused under it.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import TimesliceHost

enum ThreadBenchmarks {
    static let parkedCount = 2_000
    static let spawnBatch = 1_000

    static func run(cpus: CPUSet, scale: Double) -> BaselineBenchResult {
        let procs = cpus.sorted.count
        var r = BaselineBenchResult(runtime: "threads", maxProcs: procs)
        let parked = max(100, Int(Double(parkedCount) * scale))
        r.parkedCount = parked
        r.record(.parkedRSS) { try parkedRSS(count: parked) }
        let pins = procs == 1 ? [cpus, cpus] : [CPUSet([cpus.sorted[0]]), CPUSet([cpus.sorted[1]])]
        let rounds = max(1_000, Int(20_000 * scale))
        r.record(.yield) { MicroBenchmarks.median(5) { yieldPingPong(rounds: rounds, pins: pins) } }
        r.record(.channel) { MicroBenchmarks.median(5) { futexPingPong(rounds: rounds, pins: pins) } }
        let batches = max(1, Int(10 * scale))
        r.record(.spawnJoin) { try MicroBenchmarks.median(5) { try spawnJoin(batch: spawnBatch, batches: batches) } }
        r.notes = ["threads/\(procs): process restricted to CPU \(cpus.listString); yield and chan threads pinned to "
                   + (procs == 1 ? "that CPU (both)" : "CPU \(cpus.sorted[0]) and CPU \(cpus.sorted[1])")
                   + "; yield = sched_yield ping-pong, chan = futex handoff, spawn_join = pthread_create+join in batches of \(spawnBatch), "
                   + "parked_rss over \(parked) threads in FUTEX_WAIT"]
        return r
    }

    /// Shared state of a two-thread ping-pong.
    private final class Pair: @unchecked Sendable {
        // @unchecked: only the atomic word is shared; `pins` is immutable.
        let word = FutexWord(0)
        let pins: [CPUSet]
        init(pins: [CPUSet]) { self.pins = pins }
    }

    /// Runs `partner` on a second thread pinned to pins[1] while `body` runs on a thread
    /// pinned to pins[0]; returns what `body` returned.
    private static func pair(_ pins: [CPUSet], partner: @escaping (Pair) -> Void, body: @escaping (Pair) -> Double) -> Double {
        let p = Pair(pins: pins)
        let result = Mutex<Double>(0)
        let b = OSThread(name: "bench-pong") {
            try? Affinity.setCurrentThread(p.pins[1])
            partner(p)
        }
        let a = OSThread(name: "bench-ping") {
            try? Affinity.setCurrentThread(p.pins[0])
            let v = body(p)
            result.withLock { $0 = v }
        }
        a.join()
        b.join()
        return result.withLock { $0 }
    }

    /// ns per switch: the turn word is 1 for the partner, 0 for the measuring thread, 2 to stop.
    static func yieldPingPong(rounds: Int, pins: [CPUSet]) -> Double {
        pair(pins, partner: { p in
            while true {
                var v = p.word.load()
                while v == 0 { sched_yield(); v = p.word.load() }
                if v == 2 { return }
                p.word.store(0)
            }
        }, body: { p in
            let start = MonotonicClock.now()
            for _ in 0..<rounds {
                p.word.store(1)
                while p.word.load() != 0 { sched_yield() }
            }
            let elapsed = MonotonicClock.now() - start
            p.word.store(2)
            return Double(elapsed) / Double(2 * rounds)
        })
    }

    /// ns per handoff: the waiting side sleeps in FUTEX_WAIT, the other wakes it after storing.
    static func futexPingPong(rounds: Int, pins: [CPUSet]) -> Double {
        pair(pins, partner: { p in
            while true {
                var v = p.word.load()
                while v == 0 { p.word.wait(expected: 0); v = p.word.load() }
                if v == 2 { return }
                p.word.store(0)
                p.word.wake()
            }
        }, body: { p in
            let start = MonotonicClock.now()
            for _ in 0..<rounds {
                p.word.store(1)
                p.word.wake()
                while p.word.load() == 1 { p.word.wait(expected: 1) }
            }
            let elapsed = MonotonicClock.now() - start
            p.word.store(2)
            p.word.wake()
            return Double(elapsed) / Double(2 * rounds)
        })
    }

    /// ns per thread: `batches` × (create `batch` threads that return at once, join them all).
    static func spawnJoin(batch: Int, batches: Int) throws -> Double {
        var handles = [pthread_t](repeating: pthread_t(), count: batch)
        let start = MonotonicClock.now()
        for _ in 0..<batches {
            for i in 0..<batch {
                let rc = pthread_create(&handles[i], nil, { _ in nil }, nil)
                guard rc == 0 else {
                    for j in 0..<i { pthread_join(handles[j], nil) }
                    throw WorkloadUnavailable("pthread_create failed after \(i) threads: \(String(cString: strerror(rc)))")
                }
            }
            for i in 0..<batch { pthread_join(handles[i], nil) }
        }
        return Double(MonotonicClock.now() - start) / Double(batch * batches)
    }

    /// What parked threads share: the gate they wait on and how many have arrived.
    private final class Gate: @unchecked Sendable {
        // @unchecked: both members are atomics (FutexWord wraps an Atomic<UInt32>).
        let word = FutexWord(0)
        let arrived = Atomic<Int>(0)
    }

    /// RSS growth per thread parked in FUTEX_WAIT, measured once all `count` have arrived.
    static func parkedRSS(count: Int) throws -> Double {
        let gate = Gate()
        // Allocated and touched before the first reading, so that it is not counted.
        var handles = [pthread_t](repeating: pthread_t(), count: count)
        let arg = Unmanaged.passRetained(gate).toOpaque()
        defer { Unmanaged<Gate>.fromOpaque(arg).release() }
        let before = MicroBenchmarks.residentBytes()
        var started = 0
        var failure: String?
        for i in 0..<count {
            let rc = pthread_create(&handles[i], nil, { raw in
                // Sound: the creator holds a retained reference until every thread is joined.
                let g = Unmanaged<Gate>.fromOpaque(raw!).takeUnretainedValue()
                g.arrived.add(1, ordering: .releasing)
                while g.word.load() == 0 { g.word.wait(expected: 0) }
                return nil
            }, arg)
            guard rc == 0 else { failure = "pthread_create failed after \(i) threads: \(String(cString: strerror(rc)))"; break }
            started += 1
        }
        // Every thread has run up to its FUTEX_WAIT (its stack and TLS are touched) before the
        // second reading; 20 ms more lets the last arrivals reach the syscall.
        while gate.arrived.load(ordering: .acquiring) < started { usleep(1_000) }
        usleep(20_000)
        let after = MicroBenchmarks.residentBytes()
        gate.word.store(1)
        Futex.wake(UnsafeMutableRawPointer(gate.word.cell), count: UInt32(Int32.max))
        for i in 0..<started { pthread_join(handles[i], nil) }
        if let failure { throw WorkloadUnavailable(failure) }
        return Double(Int(after) - Int(before)) / Double(count)
    }
}
