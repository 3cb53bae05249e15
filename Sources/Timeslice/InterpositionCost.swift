// The fast paths the runtime's interpositions add to ordinary code (lock awareness,
// CTimeslice/lock_interpose.c; lazy statics, once_interpose.c), each timed beside the
// function it forwards to (CTimeslice/interposition_cost.c). For `timeslice bench`.
import CTimeslice

public enum InterpositionTiming {
    /// ns per uncontended pthread mutex lock + unlock: through the runtime's interposer, or
    /// (`libc`) libc's pair called directly. nil when libc's cannot be found.
    public static func mutexPairNanoseconds(iterations: UInt64, libc: Bool) -> Double? {
        let ns = ts_cost_mutex_pair(iterations, libc ? 1 : 0)
        return ns < 0 ? nil : ns
    }

    /// ns per swift_once on an initialised token (a lazy static read): through the runtime's
    /// interposer, or (`runtime`) the Swift runtime's own — only its slow path when the
    /// runtime is linked into the executable (`slowPathOnly`).
    public static func onceNanoseconds(iterations: UInt64, runtime: Bool) -> (nanoseconds: Double, slowPathOnly: Bool)? {
        var slowPath: Int32 = 0
        let ns = ts_cost_once_initialised(iterations, runtime ? 1 : 0, &slowPath)
        return ns < 0 ? nil : (ns, slowPath != 0)
    }
}
