// Who had the server's CPUs during the measured window: the server process itself, other
// processes (this VM is shared: a compiler on the server's CPU stretches every runtime's
// tail alike), and the hypervisor (steal). From /proc/stat's per-CPU lines and the server
// process's /proc/<pid>/stat utime + stime, in clock ticks (USER_HZ, 10 ms at 100 Hz: over a
// 2 s window a share is good to about ±1 %). The server is confined to its CPUs, so its whole
// CPU time was spent there; in-process variants also count the lab's own few threads (they
// sleep while the generator runs).
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

struct ServerCPUShare: Equatable {
    /// Shares of the server CPUs' capacity over the window, in per mille.
    var serverPermille: UInt64
    var othersPermille: UInt64
    var stealPermille: UInt64

    /// One reading: ticks busy and stolen on the server's CPUs, the server process's ticks, when.
    struct Sample {
        var busy: UInt64
        var steal: UInt64
        var process: UInt64
        var nanoseconds: UInt64
    }

    static func sample(cpus: CPUSet, pid: pid_t) -> Sample? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let process = processTicks(pid: pid) else { return nil }
        let (busy, steal) = cpuTicks(procStat: stat, cpus: cpus)
        return Sample(busy: busy, steal: steal, process: process, nanoseconds: MonotonicClock.now())
    }

    /// Ticks of user, nice, system, irq, softirq (busy) and steal summed over `cpus`'s
    /// `cpuN` lines of /proc/stat.
    static func cpuTicks(procStat: String, cpus: CPUSet) -> (busy: UInt64, steal: UInt64) {
        var busy: UInt64 = 0, steal: UInt64 = 0
        for line in procStat.split(separator: "\n") where line.hasPrefix("cpu") {
            let fields = line.split(separator: " ")
            guard let id = Int(fields[0].dropFirst(3)), cpus.contains(id), fields.count > 8 else { continue }
            let ticks = fields.dropFirst().map { UInt64($0) ?? 0 }
            busy += ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]
            steal += ticks[7]
        }
        return (busy, steal)
    }

    /// utime + stime of `pid` (fields 14 and 15 of /proc/<pid>/stat, counted after the
    /// command name, which may contain spaces and parentheses).
    static func processTicks(pid: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    /// The shares between two samples of `cpuCount` CPUs; nil for an empty window.
    static func between(_ a: Sample, _ b: Sample, cpuCount: Int) -> ServerCPUShare? {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let capacity = Double(b.nanoseconds &- a.nanoseconds) / 1e9 * ticksPerSecond * Double(cpuCount)
        guard capacity > 0, b.busy >= a.busy, b.process >= a.process else { return nil }
        func permille(_ ticks: UInt64) -> UInt64 { UInt64((Double(ticks) / capacity * 1000).rounded()) }
        let busy = b.busy - a.busy, process = b.process - a.process
        return ServerCPUShare(serverPermille: permille(process), othersPermille: permille(busy > process ? busy - process : 0),
                              stealPermille: permille(b.steal &- a.steal))
    }

    var counters: [String: UInt64] {
        ["server_cpu_server_permille": serverPermille, "server_cpu_others_permille": othersPermille,
         "server_cpu_steal_permille": stealPermille]
    }
}
