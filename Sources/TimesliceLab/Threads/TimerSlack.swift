// Linux adds a per-thread "timer slack" (50 µs by default for normal threads) to every timed
// sleep, to batch wake-ups. A wakeup probe must remove it, as cyclictest does, or it measures
// the slack instead of the scheduler. prctl(2) is variadic, so it is called through a
// fixed-arity pointer (sound on Linux x86_64/aarch64, see Futex.swift).
#if canImport(Glibc)
import Glibc
#endif

public enum TimerSlack {
    private typealias PrctlFn = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let prctl: PrctlFn? = dlsym(nil, "prctl").map { unsafeBitCast($0, to: PrctlFn.self) }
    private static let setTimerSlack: Int32 = 29  // PR_SET_TIMERSLACK

    /// Sets the calling thread's timer slack to 1 ns (0 would mean "reset to the default").
    @discardableResult
    public static func minimizeForCurrentThread() -> Bool {
        prctl?(setTimerSlack, 1, 0, 0, 0) == 0
    }
}
