// Watches the server during the generator's measured window, from a thread of its own: a
// ServerCPUShare sample when the window opens, the ThreadCensus halfway, a second sample at
// 90 % of the window (the generator closes its connections right after the end, and the
// threads of a threads or Go server go with them). Times count from the observer's start,
// just before the generator is spawned, so they are late by the generator's start-up.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

final class ServerWindowObserver: @unchecked Sendable {
    struct Observation {
        var census: ThreadCensus?
        var share: ServerCPUShare?
    }

    // @unchecked: `seen` is written by the observer thread only, and read by `finish` after
    // joining it.
    private let ended = DispatchSemaphore(value: 0)
    private var seen = Observation()
    private var thread: OSThread?

    /// `opensAfter`: capacity probe + warm-up; `pid`: the server's process, nil until known.
    init(opensAfter: UInt64, length: UInt64, cpus: ServerCPUs, pid: @escaping () -> pid_t?) {
        let start = MonotonicClock.now()
        let ended = ended
        thread = OSThread(name: "server-window") { [unowned self] in
            /// Sleeps until `offset` after start; false when `finish` came first.
            func wait(until offset: UInt64) -> Bool {
                let now = MonotonicClock.now()
                let left = start + offset > now ? start + offset - now : 0
                return ended.wait(timeout: .now() + .nanoseconds(Int(min(left, UInt64(Int.max))))) == .timedOut
            }
            guard wait(until: opensAfter), let server = pid(),
                  let first = ServerCPUShare.sample(cpus: cpus.cpus, pid: server) else { return }
            guard wait(until: opensAfter + length / 2) else { return }
            seen.census = ThreadCensus.take(pid: server)
            guard wait(until: opensAfter + length / 10 * 9),
                  let last = ServerCPUShare.sample(cpus: cpus.cpus, pid: server) else { return }
            seen.share = ServerCPUShare.between(first, last, cpuCount: cpus.cpus.sorted.count)
        }
    }

    /// Ends the watch (what was not reached yet stays nil) and returns what was seen.
    func finish() -> Observation {
        ended.signal()
        thread?.join()
        thread = nil
        return seen
    }
}
