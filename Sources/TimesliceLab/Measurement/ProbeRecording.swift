// A periodic probe's sampling, shared between the probe (a pthread, a goroutine or a Task) and
// the child's starvation monitor (its own pthread), so that a starved configuration keeps every
// sample taken before the stall (see PeriodicSampling, "Censoring").
//
// Ownership protocol, one atomic word:
//   unstarted → idle        the probe, once, after setting `sampling` (release)
//   idle → busy → idle      the probe, around each wake-up it accounts (acquire / release)
//   idle|unstarted → frozen the monitor, once; from then on only the monitor touches `sampling`
// Whoever moved the word last owns `sampling`; the release/acquire pair on the word orders the
// histogram writes before the other side's reads. No lock: a goroutine may be preempted and
// resumed on another thread at any instruction, which a thread-owned lock would not survive.
import Synchronization

public final class ProbeRecording: @unchecked Sendable {
    // @unchecked: `sampling` is guarded by `state` as described above.
    private enum State: Int { case unstarted, idle, busy, frozen }
    private let state = Atomic<Int>(State.unstarted.rawValue)
    private var sampling: PeriodicSampling?

    public init() {}

    /// Called by the probe once, before its first sleep. Returns the first deadline.
    public func begin(_ schedule: ProbeSchedule) -> UInt64 {
        sampling = PeriodicSampling(schedule: schedule)
        state.store(State.idle.rawValue, ordering: .releasing)
        return schedule.firstDeadline
    }

    /// Called by the probe after each wake-up. Returns the next deadline, or nil when the window
    /// is over or the monitor has frozen the recording (the probe then stops).
    public func wake(deadline: UInt64, at now: UInt64) -> UInt64? {
        guard state.compareExchange(expected: State.idle.rawValue, desired: State.busy.rawValue,
                                    ordering: .acquiring).exchanged else { return nil }
        let next = sampling!.wake(deadline: deadline, at: now)
        state.store(State.idle.rawValue, ordering: .releasing)
        return next
    }

    /// The probe's result once it stopped (nil if it never began). Only the probe's own thread of
    /// control calls this, after its loop ended; a frozen recording belongs to the monitor.
    public func finished() -> PeriodicSampling? {
        guard state.load(ordering: .acquiring) == State.idle.rawValue else { return nil }
        return sampling
    }

    /// The monitor's side: takes the recording over, censors it at `now` and returns it. Waits
    /// (up to `patience` polls of 1 ms) while the probe is inside `wake`; nil when the probe never
    /// began or never left `wake` (preempted inside it for the whole patience).
    public func freezeAndCensor(at now: UInt64, patience: Int = 1000,
                                pause: () -> Void) -> PeriodicSampling? {
        for _ in 0..<patience {
            let s = state.load(ordering: .acquiring)
            switch State(rawValue: s)! {
            case .frozen: return nil
            case .busy: pause(); continue
            case .unstarted, .idle:
                guard state.compareExchange(expected: s, desired: State.frozen.rawValue,
                                            ordering: .acquiring).exchanged else { continue }
                guard s == State.idle.rawValue, var taken = sampling else { return nil }
                taken.censor(at: now)
                return taken
            }
        }
        return nil
    }
}
