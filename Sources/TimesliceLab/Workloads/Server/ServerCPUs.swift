// Where a server configuration runs, the same for every runtime: the server on the first n
// usable CPUs, n from the matrix point's `max_procs` (default: every usable CPU), and the load
// generator on a usable CPU outside them when one is left. n is also the server's parallelism:
// the timeslice runtime's Ps, swift-nio's event loops, Go's GOMAXPROCS; the threads server has
// a thread per connection, all confined to the same CPUs.
//
// Confinement is by inheritance: each variant starts its server from a thread confined here
// (`startConfinedThread`), and every thread it creates (runtime Ms and sysmon, event loops,
// connection threads, the Go process and its threads) inherits that thread's affinity mask.
// The lab's own threads (the measuring thread, the starvation monitor) stay unconfined: they
// sleep while the generator runs. ThreadCensus then shows what the server's threads got.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

struct ServerCPUs: Equatable {
    /// n: Ps, event loops, GOMAXPROCS.
    let count: Int
    /// The CPUs every server thread may run on: the first min(n, usable) usable CPUs.
    let cpus: CPUSet
    /// The generator's CPU: the last usable CPU, when the server has not got it; nil when the
    /// server has every usable CPU (the generator then shares them, and says so).
    let generatorCPU: Int?
    /// Every CPU the process may use; the timeslice server's sysmon may go outside `cpus`
    /// (the `sysmon` axis: `sysmonLayout`).
    let usable: CPUSet

    /// `maxProcs` nil: every usable CPU (`defaultCount`, the runtime's default maxProcs).
    static func resolve(maxProcs: Int?, usable: CPUSet, defaultCount: Int) -> ServerCPUs {
        let count = max(1, maxProcs ?? defaultCount)
        let cpus = CPUSet(usable.sorted.prefix(count))
        let generator = usable.sorted.last.flatMap { cpus.contains($0) ? nil : $0 }
        return ServerCPUs(count: count, cpus: cpus, generatorCPU: generator, usable: usable)
    }

    /// The configuration's server CPUs on this host, from the calling thread's affinity.
    static func resolve(_ c: RunConfiguration) throws -> ServerCPUs {
        let usable = try Affinity.current()
        return resolve(maxProcs: c.point.maxProcs, usable: usable, defaultCount: UsableCPUs.count())
    }

    /// For the `sysmon` axis: the server's CPUs are the workers', the generator's is taken.
    var sysmonLayout: SysmonCPUs {
        SysmonCPUs(usable: usable, workers: cpus, busy: generatorCPU.map { CPUSet([$0]) } ?? [])
    }

    /// Starts `body` on a thread confined to `cpus` (so is every thread it creates); throws
    /// when the kernel refuses the mask, before `body` runs.
    func startConfinedThread(name: String, _ body: @escaping () -> Void) throws -> OSThread {
        let confined = ConfinementHandoff()
        let cpus = cpus
        let thread = OSThread(name: name) {
            do { try Affinity.setCurrentThread(cpus) } catch {
                confined.publish(error)
                return
            }
            confined.publish(nil)
            body()
        }
        if let error = confined.wait() {
            thread.join()
            throw WorkloadFailure("could not confine the server to cpus \(cpus.listString): \(error)")
        }
        return thread
    }

    /// "server (n = 1) confined to cpu 0", for the placement note.
    var description: String {
        "server (n = \(count)) confined to cpu\(cpus.sorted.count == 1 ? "" : "s") \(cpus.listString)"
    }
}

/// Whether the confined thread got its mask, from that thread to its starter.
private final class ConfinementHandoff: @unchecked Sendable {
    // @unchecked: `outcome` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var outcome: Error??

    func publish(_ error: Error?) {
        condition.lock()
        outcome = .some(error)
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Error? {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        return outcome!
    }
}
