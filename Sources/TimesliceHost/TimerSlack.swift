// Linux adds a per-thread "timer slack" (50 µs by default for normal threads) to every timed
// sleep, to batch wake-ups. A latency probe must remove it, as cyclictest does, or it measures
// the slack instead of the scheduler. The value is per thread and inherited by threads created
// later (and across fork/exec), so a child that sets it on its main thread first gives every
// runtime's threads the same instrument; `current` reads it back for the record.

import CTimeslice

public enum TimerSlack {
    /// The smallest slack: 1 ns (0 would mean "reset to the default").
    public static let minimumNanoseconds: UInt = 1

    /// Sets the calling thread's timer slack to 1 ns.
    public static func minimizeForCurrentThread() throws {
        try HostSyscallError.check("prctl(PR_SET_TIMERSLACK)", ts_host_set_timer_slack(minimumNanoseconds))
    }

    /// The calling thread's timer slack in nanoseconds.
    public static func current() throws -> UInt64 {
        var ns: UInt = 0
        try HostSyscallError.check("prctl(PR_GET_TIMERSLACK)", ts_host_timer_slack(&ns))
        return UInt64(ns)
    }
}
