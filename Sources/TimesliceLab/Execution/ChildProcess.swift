// Runs one child process under a deadline and collects its stdout and stderr.
//
// Protocol:
//   1. Start the child (ProcessLifecycle.spawn: fork + exec in the machine layer) in its own
//      process group, with an empty signal mask, default dispositions for SIGPIPE/SIGURG (a
//      parent's blocked or ignored signals are inherited across exec, and the runtime's
//      preemption relies on SIGURG being deliverable) and PR_SET_PDEATHSIG = SIGKILL: if this
//      process dies, even by SIGKILL, the child dies too, and so, one level down, does anything
//      the child started through this same function (Go programs, cyclictest). The death signal
//      follows the spawning *thread*, which is why this function blocks until the child is reaped.
//   2. poll() its stdout and stderr until both reach EOF or the deadline passes; in the runner
//      (Interrupt installed) also the interrupt self-pipe, whose handler has already SIGKILLed
//      the child's group.
//   3. On the deadline or an interrupt, SIGKILL the whole process group (the child's threads and
//      anything it started), then drain the pipes and reap it. A hang can therefore never stall
//      a sweep for longer than its deadline plus the time to reap.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TimesliceHost

public struct ChildProcessResult: Sendable {
    public enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
    }

    public var termination: Termination
    public var stdout: Data
    public var stderr: Data
    /// True when the watchdog killed the child.
    public var timedOut: Bool
    /// True when the runner was interrupted (SIGINT/SIGTERM/SIGHUP) and killed the child.
    public var interrupted: Bool = false
    public var elapsedNanoseconds: UInt64
    /// What the kernel accounted to the child and its waited-for descendants (wait4's rusage).
    public var usage: ChildUsage
}

/// The child's resource usage as wait4(2) reports it: enough to tell whether it was switched out.
public struct ChildUsage: Codable, Equatable, Sendable {
    public var userSeconds: Double
    public var systemSeconds: Double
    public var voluntarySwitches: UInt64
    public var involuntarySwitches: UInt64
    public var maxRSSKilobytes: UInt64

    enum CodingKeys: String, CodingKey {
        case userSeconds = "user_seconds", systemSeconds = "system_seconds"
        case voluntarySwitches = "voluntary_switches", involuntarySwitches = "involuntary_switches"
        case maxRSSKilobytes = "max_rss_kb"
    }

    init(_ r: rusage) {
        userSeconds = Double(r.ru_utime.tv_sec) + Double(r.ru_utime.tv_usec) / 1e6
        systemSeconds = Double(r.ru_stime.tv_sec) + Double(r.ru_stime.tv_usec) / 1e6
        voluntarySwitches = UInt64(max(r.ru_nvcsw, 0))
        involuntarySwitches = UInt64(max(r.ru_nivcsw, 0))
        maxRSSKilobytes = UInt64(max(r.ru_maxrss, 0))
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
}

public enum ChildProcess {
    /// Output beyond this per stream is dropped (and noted), so a chatty child cannot exhaust memory.
    public static let captureLimit = 32 << 20

    public static func run(executable: String, arguments: [String], environment: [String: String]? = nil,
                           deadlineNanoseconds: UInt64,
                           onStart: ((pid_t) -> Void)? = nil) throws -> ChildProcessResult {
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        // Glibc's module lacks pipe2, so CLOEXEC is set right after: a child spawned by another
        // thread in between could inherit these ends, which would only delay our EOF until
        // that other child exits, never corrupt data.
        try SystemCall.retrying("pipe") { pipe(&outPipe) }
        do { try SystemCall.retrying("pipe") { pipe(&errPipe) } } catch { close(outPipe[0]); close(outPipe[1]); throw error }
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { for fd in [outPipe[0], errPipe[0]] where fd >= 0 { close(fd) } }

        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let start = MonotonicClock.now()
        let pid: pid_t
        do {
            pid = try ProcessLifecycle.spawn(path: executable, argv: [executable] + arguments, environment: env,
                                             stdout: outPipe[1], stderr: errPipe[1], deathSignal: SIGKILL)
        } catch let e as HostSyscallError {
            close(outPipe[1]); close(errPipe[1])
            throw ChildProcessError(description: "cannot start \(executable): \(String(cString: strerror(e.errno)))")
        }
        // The write ends belong to the child now; keeping ours open would hide its EOF.
        close(outPipe[1]); close(errPipe[1])
        // The runner's interrupt handler SIGKILLs this group; a signal that came before this
        // line is seen by the loop below (Interrupt.received).
        let interruptFD = Interrupt.wakeDescriptor
        if interruptFD != nil { Interrupt.setRunningGroup(pid) }
        defer { if interruptFD != nil { Interrupt.setRunningGroup(0) } }
        onStart?(pid)

        var out = Data(), err = Data()
        var open: [Int32] = [outPipe[0], errPipe[0]]
        var timedOut = false, interrupted = false
        let deadline = start + deadlineNanoseconds
        while !open.isEmpty {
            if interruptFD != nil, Interrupt.received != nil {
                interrupted = true
                break
            }
            let now = MonotonicClock.now()
            if now >= deadline {
                timedOut = true
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if let interruptFD { fds.append(pollfd(fd: interruptFD, events: Int16(POLLIN), revents: 0)) }
            let waitMs = Int32(min((deadline - now) / 1_000_000 + 1, 1_000))
            guard (try? SystemCall.retrying("poll") { poll(&fds, nfds_t(fds.count), waitMs) }) != nil else {
                timedOut = true  // cannot watch the child any more: treat as a hang, kill it
                break
            }
            for f in fds where f.revents != 0 && f.fd != interruptFD {
                let eof = f.fd == outPipe[0] ? drainOnce(f.fd, into: &out) : drainOnce(f.fd, into: &err)
                if eof { open.removeAll { $0 == f.fd } }
            }
        }
        // The handler's SIGKILL can close the pipes (ending the loop) before the loop sees
        // the interrupt: a child killed that way was interrupted, not failed.
        if interruptFD != nil, Interrupt.received != nil { interrupted = true }
        if timedOut || interrupted {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        var status: Int32 = 0
        var usage = rusage()
        // Cannot fail for our own child (ECHILD would mean someone else reaped it).
        _ = try? SystemCall.retrying("wait4") { wait4(pid, &status, 0, &usage) }
        // After a kill, collect what the child managed to write (the pipes are at EOF now
        // unless a grandchild escaped the group; reading non-blockingly avoids waiting on one).
        for fd in open {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            while !(fd == outPipe[0] ? drainOnce(fd, into: &out) : drainOnce(fd, into: &err)) {}
        }
        let termination: ChildProcessResult.Termination =
            (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
        return ChildProcessResult(termination: termination, stdout: out, stderr: err, timedOut: timedOut,
                                  interrupted: interrupted, elapsedNanoseconds: MonotonicClock.now() - start, usage: ChildUsage(usage))
    }

    /// Reads what is available; returns true at EOF (or on an error, which ends the stream too).
    private static func drainOnce(_ fd: Int32, into data: inout Data) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            if data.count < captureLimit { data.append(contentsOf: buffer[0..<n]) }
            return false
        }
        if n < 0 && errno == EINTR { return false }
        return true  // 0 = EOF; EAGAIN after a kill = nothing more will come from the reaped child
    }
}
