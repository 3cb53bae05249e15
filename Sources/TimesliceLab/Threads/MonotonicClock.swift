// CLOCK_MONOTONIC in nanoseconds, and absolute-deadline sleeping on it. The wakeup probe sleeps
// until an absolute time (TIMER_ABSTIME) so that its own processing never drifts the schedule:
// lateness is then purely what the scheduler added, as in cyclictest.
#if canImport(Glibc)
import Glibc
#endif
import TimesliceHost

public enum MonotonicClock {
    @inline(__always)
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Sleeps until `deadline` (CLOCK_MONOTONIC ns). Retries on EINTR, which is the point of an
    /// absolute deadline: a signal cannot make the probe wake early or late by its own doing.
    public static func sleep(until deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        // Only EINVAL/EFAULT could fail here, and this timespec is valid by construction.
        try? SystemCall.returningErrno("clock_nanosleep") { clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) }
    }
}
