// The live processes of the machine as /proc shows them, for tests that check that no process
// outlives the command that started it.
import Foundation

/// A live (not zombie) process as /proc shows it.
struct Proc {
    var pid: pid_t
    var ppid: pid_t
    var pgid: pid_t
    var cmdline: String

    static func all() -> [Proc] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name in
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (comm)": state ppid pgrp ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 3, fields[0] != "Z", fields[0] != "X",
                  let ppid = pid_t(fields[1]), let pgid = pid_t(fields[2]) else { return nil }
            let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            let cmdline = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return Proc(pid: pid, ppid: ppid, pgid: pgid, cmdline: cmdline)
        }
    }

    static func descendants(of pid: pid_t) -> [Proc] {
        let procs = all()
        var result: [Proc] = []
        var frontier = [pid]
        while let p = frontier.popLast() {
            for c in procs where c.ppid == p {
                result.append(c)
                frontier.append(c.pid)
            }
        }
        return result
    }
}
