// The async-preemption trampoline's register-state save (CTimeslice/trampoline_cost.c),
// timed for `timeslice bench`.
import CTimeslice

/// The async-preemption trampoline's register-state save and restore (CTimeslice/
/// trampoline_cost.c), for `timeslice bench`: what switching from inside the signal
/// handler could save per delivered preemption at most.
public enum TrampolineStateTiming {
    /// ns per save + restore pair and the area's size; nil before an async runtime
    /// installed the handler (which sizes the area) or on a CPU without XSAVE.
    public static func saveRestoreNanoseconds(iterations: UInt64) -> (nanoseconds: Double, areaBytes: UInt32)? {
        var bytes: UInt32 = 0
        let ns = ts_cost_trampoline_state(iterations, &bytes)
        return ns < 0 ? nil : (ns, bytes)
    }
}
