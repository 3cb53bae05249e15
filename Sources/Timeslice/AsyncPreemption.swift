// The Swift half of SIGURG preemption (the C half, with the protocol and the
// safe-point rules, is CTimeslice/preempt.c and include/ts_preempt.h).
import CTimeslice
import Glibc

enum AsyncPreemption {
    /// Installs the handler once per process. Returns a reason when async
    /// preemption cannot work here.
    static func install() -> String? {
        let rc = ts_preempt_install(asyncPreemptCallback, lockReleaseHonourCallback)
        if rc == 0 { return nil }
        return "SIGURG preemption unavailable: \(String(cString: strerror(rc)))"
    }

    /// sysmon: asks M's current goroutine to stop, by signal (the request flags
    /// are already set). Stamps ts_m.sig_sent_ns with the clock just before tgkill
    /// for the handler's delivery sample, by CAS from 0 only: if the last signal
    /// is still undelivered, this one coalesces with it in the kernel (one SIGURG
    /// pending per thread at most), and keeping the older stamp measures how long
    /// the thread really had a signal pending. Overwriting it would report the
    /// re-send's shorter delay and lose the first one's.
    static func signal(_ m: Machine) {
        let stamp = ts_monotonic_ns()
        let stamped = ts_cas_u64(&m.header.pointee.sig_sent_ns, 0, stamp)
        if ts_preempt_signal(m.header.pointee.tid) != 0 && stamped {
            _ = ts_cas_u64(&m.header.pointee.sig_sent_ns, stamp, 0)   // nothing will deliver it
        }
    }
}

/// Runs on the goroutine's stack, called by ts_async_preempt_trampoline with
/// every register saved; the handler already disabled preemption for us
/// (nopreempt 0 -> 1). sysmon may have taken the P while the G was blocked in
/// the kernel (BlockedThread.swift): then reacquire one instead of switching, as
/// the request belonged to the lost P's run.
private let asyncPreemptCallback: @convention(c) () -> Void = {
    let g = ts_current_g()!
    if ts_load_u32_relaxed(&ts_current_m().unsafelyUnwrapped.pointee.p_lost) != 0 && reacquireLostProcessor(g) {
        enablePreemption(g)
        return
    }
    ts_switch_to_g0(SwitchReason.preempted.rawValue, nil)
    enablePreemption(g)
}

/// Called by the release of a goroutine's last thread-owned lock when the handler
/// deferred a preemption meanwhile (CTimeslice/lock_interpose.c, ts_locks.h).
private let lockReleaseHonourCallback: @convention(c) (UnsafeMutablePointer<ts_g>?) -> Void = { g in
    honourDeferredPreemption(g.unsafelyUnwrapped)
}
