// The least a delivered signal costs on this machine (see ts_host_signal_floor): the yardstick
// of the preemption bench's "cost per preemption".
import CTimeslice

public enum SignalFloor {
    /// Mean ns per self-sent, delivered, handled and returned-from signal over `iterations`.
    public static func measure(iterations: Int = 20_000) throws -> UInt64 {
        var ns: UInt64 = 0
        try HostSyscallError.check("signal floor (tgkill SIGUSR2)", ts_host_signal_floor(Int32(iterations), &ns))
        return ns
    }
}
