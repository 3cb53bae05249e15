// Which configurations something else disturbed, in words for the summary table's note, from
// what the run already records: the hypervisor's steal over the configuration's run (host
// interference, per CPU) and, for the server workload, who had the server's CPUs during its
// measured window (ServerCPUShare). A disturbed row stays in the results; the note tells the
// reader not to compare it with its neighbours before re-running it. The one place the rule
// lives: every encoded ConfigResult carries it as `disturbed` (ResultsDocument.swift), which
// the summary table prints and the notebooks mark.
import Foundation

enum Disturbance {
    /// A CPU losing at least this share of its time to the hypervisor during the run.
    static let stealPercent = 2.0
    /// The server's CPUs: at least this much (‰) stolen or used by other processes.
    static let serverCPUPermille: UInt64 = 50

    /// "steal 5.1 % on cpu 1; server CPU others 72 ‰", or nil when nothing crossed a threshold.
    static func reasons(_ c: ConfigResult) -> String? {
        var parts: [String] = []
        if let steal = c.interference?.host.stealPercent {
            let worst = steal.filter { $0.key != "all" }.max { $0.value < $1.value }
            if let worst, worst.value >= stealPercent {
                parts.append(String(format: "steal %.1f %% on cpu %@", worst.value, worst.key))
            }
        }
        for (key, name) in [("server_cpu_steal_permille", "steal"), ("server_cpu_others_permille", "others")] {
            if let v = c.counters[key], v >= serverCPUPermille { parts.append("server CPU \(name) \(v) ‰") }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}
