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

/// What timer-driven preemption costs at the least on this machine (ts_host_timer_signal_floor):
/// a thread spinning while it is signalled every period with an empty handler, by another
/// thread that sleeps to each deadline (a monitor such as sysmon) or by its own POSIX timer.
public struct TimerSignalFloor: Codable, Equatable, Sendable {
    public enum Source: Int32, Codable, Sendable { case monitorThread = 0, ownTimer = 1 }
    public var source: Source
    public var periodNanoseconds: UInt64
    /// Extra wall time of the signalled thread per delivered signal, ns.
    public var victimNanosecondsPerSignal: UInt64
    /// CPU time of the monitor thread per signal, ns (0 for ownTimer).
    public var senderCPUNanosecondsPerSignal: UInt64
    public var signals: UInt64

    public init(source: Source, periodNanoseconds: UInt64, victimNanosecondsPerSignal: UInt64,
                senderCPUNanosecondsPerSignal: UInt64, signals: UInt64) {
        self.source = source
        self.periodNanoseconds = periodNanoseconds
        self.victimNanosecondsPerSignal = victimNanosecondsPerSignal
        self.senderCPUNanosecondsPerSignal = senderCPUNanosecondsPerSignal
        self.signals = signals
    }

    /// Both threads' CPU per signal: the least process CPU a preemption costs this way.
    public var cpuNanosecondsPerSignal: UInt64 { victimNanosecondsPerSignal + senderCPUNanosecondsPerSignal }

    public static func measure(_ source: Source, periodNanoseconds: UInt64, spinIterations: UInt64) throws -> TimerSignalFloor {
        var victim: UInt64 = 0, sender: UInt64 = 0, signals: UInt64 = 0
        try HostSyscallError.check("timer signal floor", ts_host_timer_signal_floor(source.rawValue, periodNanoseconds, spinIterations,
                                                                                    &victim, &sender, &signals))
        return TimerSignalFloor(source: source, periodNanoseconds: periodNanoseconds, victimNanosecondsPerSignal: victim,
                                senderCPUNanosecondsPerSignal: sender, signals: signals)
    }
}
