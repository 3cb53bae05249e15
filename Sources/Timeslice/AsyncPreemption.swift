// The Swift half of SIGURG preemption (the C half, with the protocol and the
// safe-point rules, is CTimeslice/preempt.c and include/ts_preempt.h).
import CTimeslice
import Glibc

enum AsyncPreemption {
    /// Installs the handler once per process. Returns a reason when async
    /// preemption cannot work here.
    static func install() -> String? {
        let rc = ts_preempt_install(asyncPreemptCallback)
        if rc == 0 { return nil }
        return "SIGURG preemption unavailable: \(String(cString: strerror(rc)))"
    }

    /// sysmon: asks M's current goroutine to stop, by signal.
    static func signal(_ m: Machine, goroutine header: UnsafeMutablePointer<ts_g>, firstRequest: Bool) {
        if firstRequest { ts_store_u64(&header.pointee.preempt_sent_ns, ts_monotonic_ns()) }
        _ = ts_preempt_signal(m.header.pointee.tid)
    }
}

/// Runs on the goroutine's stack, called by ts_async_preempt_trampoline with
/// every register saved; the handler already disabled preemption for us.
private let asyncPreemptCallback: @convention(c) () -> Void = {
    let g = ts_current_g()!
    ts_switch_to_g0(SwitchReason.preempted.rawValue, nil)
    enablePreemption(g)
}
