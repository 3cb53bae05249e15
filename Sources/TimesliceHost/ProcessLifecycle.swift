// Children that die with their parent, and a runner that can be interrupted cleanly.
//
// `spawn` starts a program in its own process group with PR_SET_PDEATHSIG (posix_spawn cannot
// set it; the machine layer forks and execs). `Interrupt` is the runner's handler for SIGINT,
// SIGTERM and SIGHUP, written in C to stay async-signal-safe: the first signal SIGKILLs the
// registered group (the running configuration) and wakes poll() through a self-pipe; a second
// one SIGKILLs the group and exits at once with 128 + signal.

#if canImport(Glibc)
import Glibc
#endif
import CTimeslice

public enum ProcessLifecycle {
    /// Starts `path` with `argv` (argv[0] included) and `environment` ("KEY=value" strings);
    /// stdin is /dev/null. The program receives `deathSignal` when the calling thread exits.
    public static func spawn(path: String, argv: [String], environment: [String], stdout: Int32, stderr: Int32,
                             deathSignal: Int32 = SIGKILL) throws -> pid_t {
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: Int32 = 0
        try HostSyscallError.check("spawn", ts_host_spawn(path, cArgs, cEnv, stdout, stderr, deathSignal, &pid), detail: path)
        return pid
    }
}

public enum Interrupt {
    /// Installs the handler (idempotent; call from the main thread before any child starts).
    public static func install() throws {
        var fd: Int32 = -1
        try HostSyscallError.check("sigaction", ts_host_interrupt_install(&fd))
        wakeDescriptor = fd
    }

    /// The self-pipe's read end once the handler is installed (nil in children and most tests):
    /// readable after a signal, and never drained, so every later poll() wakes too.
    nonisolated(unsafe) public private(set) static var wakeDescriptor: Int32?

    /// The first signal received (SIGINT, SIGTERM or SIGHUP), or nil.
    public static var received: Int32? {
        let s = ts_host_interrupt_signal()
        return s == 0 ? nil : s
    }

    /// The process group the handler SIGKILLs on a signal (0: none).
    public static func setRunningGroup(_ pgid: pid_t) {
        ts_host_interrupt_set_group(pgid)
    }
}
