// The `swift-concurrency` runtime: workloads as Tasks on Swift's default (global concurrent)
// executor, started from the child's main thread, which blocks until the body's Task is done.
//
// What `max_procs` means here: nothing can be set. On Linux the global executor is
// libdispatch's cooperative pool, whose width is fixed by the runtime at the number of CPUs;
// there is no supported knob (no GOMAXPROCS), so the matrix drops `max_procs` for this runtime.
// Each run records the width it actually observed (`swift_pool_width_observed`: the most
// Tasks seen running at once when more are ready than can run) beside
// `swift_active_processors`. A Task that never suspends keeps its pool thread, so with as many
// tight-loop hogs as the pool is wide, a sleeping probe is never resumed: the child's monitor
// reports `starved`, which is the result.
//
// Placement: the pool's threads cannot be pinned one by one; the whole process gets the CPU
// set (ProcessPlacement) before the first Task starts, and every pool thread inherits it.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Synchronization
import TimesliceHost

enum SwiftConcurrencyBridge {
    /// Result of the body's Task, written once by the Task before it signals.
    private final class Box<T>: @unchecked Sendable {
        // @unchecked: written before `done.signal()` and read after `done.wait()`, which orders them.
        var result: Result<T, Error>?
    }

    /// Runs `body` as a detached Task and waits for it on the calling (non-pool) thread.
    static func run<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// Applies the configuration's placement to the whole process (before any Task runs) and
    /// measures the pool's width. Returns the counters every variant reports and the check
    /// to run after the workload.
    static func prepare(_ context: WorkloadContext, workers: Int) throws -> (counters: [String: UInt64], verify: () -> Void) {
        let cpus = try ProcessPlacement.cpus(context, workers: workers)
        if let cpus { try ProcessPlacement.applyToProcess(cpus) }
        let width = observedPoolWidth()
        let counters: [String: UInt64] = ["swift_pool_width_observed": UInt64(width),
                                          "swift_active_processors": UInt64(ProcessInfo.processInfo.activeProcessorCount)]
        let verify = {
            var note = "swift-concurrency: default executor, observed pool width \(width) (not settable)"
            if let cpus { note += "; process affinity \(cpus.listString) (pool threads cannot be pinned one by one): " + ProcessPlacement.verifyProcess(within: cpus) }
            context.placementNote = note
        }
        return (counters, verify)
    }

    private final class WidthProbe: Sendable {
        let running = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
    }

    /// The most Tasks seen running at once when 2 × CPUs + 2 spinning Tasks are ready: each
    /// spins 20 ms without suspending, so the pool can only run as many as it has threads.
    static func observedPoolWidth() -> Int {
        let target = 2 * max(ProcessInfo.processInfo.activeProcessorCount, 1) + 2
        let probe = WidthProbe()
        return (try? run { () async -> Int in
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<target {
                    group.addTask {
                        let now = probe.running.add(1, ordering: .sequentiallyConsistent).newValue
                        var seen = probe.peak.load(ordering: .relaxed)
                        while now > seen {
                            let (exchanged, original) = probe.peak.compareExchange(expected: seen, desired: now, ordering: .relaxed)
                            if exchanged { break }
                            seen = original
                        }
                        let end = MonotonicClock.now() + 20_000_000
                        while MonotonicClock.now() < end && probe.running.load(ordering: .relaxed) < target {}
                        probe.running.subtract(1, ordering: .sequentiallyConsistent)
                    }
                }
            }
            return probe.peak.load(ordering: .relaxed)
        }) ?? 0
    }

    /// Nanoseconds of a Duration (negative durations give 0: "not late").
    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        let ns = s * 1_000_000_000 + atto / 1_000_000_000
        return ns > 0 ? UInt64(ns) : 0
    }
}

/// Swift concurrency's ping-pong channel: two AsyncStreams and a partner Task that echoes every
/// value back (each handoff resumes a continuation). Shared by the pingpong workload and the
/// bench, so both measure the same mechanism.
struct AsyncEcho {
    private let pingIn: AsyncStream<Int>.Continuation
    private var replies: AsyncStream<Int>.AsyncIterator
    private let partner: Task<Void, Never>

    init() {
        let (pings, pingIn) = AsyncStream<Int>.makeStream()
        let (pongs, pongIn) = AsyncStream<Int>.makeStream()
        partner = Task.detached {
            for await v in pings { pongIn.yield(v) }
            pongIn.finish()
        }
        self.pingIn = pingIn
        replies = pongs.makeAsyncIterator()
    }

    /// Sends `v` and waits for it to come back.
    mutating func roundTrip(_ v: Int) async {
        pingIn.yield(v)
        _ = await replies.next()
    }

    /// Ends the partner and waits for it.
    func finish() async {
        pingIn.finish()
        await partner.value
    }
}
