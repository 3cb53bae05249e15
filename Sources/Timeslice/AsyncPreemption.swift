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
        if rc == ENOEXEC {
            return "SIGURG preemption unavailable: the Swift runtime is linked into the executable and it has no symbol table to tell runtime code from user code (do not strip it)"
        }
        return "SIGURG preemption unavailable: \(String(cString: strerror(rc)))"
    }

    /// sysmon warns once per request when a goroutine's preemption has been refused
    /// this long (its P stays taken: at maxProcs 1, nothing else runs).
    static let refusalWarningNanoseconds: UInt64 = 100_000_000

    /// One line on stderr, from sysmon (never from the handler): the goroutine, how
    /// long, and the handler's last reason on its M.
    static func warnRefused(goroutine id: UInt64, machine m: Machine, for nanoseconds: UInt64) {
        let reason = refusalReason(ts_load_u32_relaxed(&m.header.pointee.sig_last_refusal))
        let line = "timeslice: goroutine \(id): async preemption refused for \(nanoseconds / 1_000_000) ms (last reason: \(reason)); it keeps its P\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    static func refusalReason(_ code: UInt32) -> String {
        switch Int(code) {
        case TS_REFUSE_FOREIGN_PC: return "PC in foreign code"
        case TS_REFUSE_FOREIGN_CALLER: return "foreign caller on the frame-pointer chain"
        case TS_REFUSE_BROKEN_CHAIN: return "frame-pointer chain does not reach the goroutine's entry"
        case TS_REFUSE_DEEP: return "frame-pointer chain too deep"
        case TS_REFUSE_STACK_SPACE: return "too little stack left"
        case TS_REFUSE_LOCK_HELD: return "thread-owned lock held"
        case TS_REFUSE_RUNTIME_SECTION: return "runtime section or blockingCall"
        default: return "no signal handled yet"
        }
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
