// Cross-thread signals used by workloads: a stop flag for hogs and a progress beacon that the
// child's starvation monitor watches. Both are plain atomics so they work identically from a
// pthread and from a goroutine of the Timeslice runtime.
import Synchronization

public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    @inline(__always) public var isSet: Bool { flag.load(ordering: .relaxed) }
    public func set() { flag.store(true, ordering: .relaxed) }
}

/// Counts units of progress of the probe (one per sample). The starvation monitor declares the
/// probe starved when the count stops moving for `starvation_timeout`.
public final class ProgressBeacon: Sendable {
    private let beats = Atomic<UInt64>(0)
    public init() {}
    @inline(__always) public func beat() { beats.add(1, ordering: .relaxed) }
    public var count: UInt64 { beats.load(ordering: .relaxed) }
}
