// Lazy statics: the runtime's half of swift_once awareness (protocol: CTimeslice/
// include/ts_once.h). A goroutine that switches out inside a once-initializer is
// wired to its OS thread (lockOSThread's internal count) until the outermost
// initializer returns, because the runtime's once lock belongs to that thread.
import CTimeslice

/// G side, with preemption disabled, just before a voluntary switch (park, yield,
/// blockingCall without a P). One thread-local load when outside any initializer.
@inline(__always)
func keepOnThreadIfInsideOnce(_ g: UnsafeMutablePointer<ts_g>) {
    if _slowPath(ts_once_depth() != 0) { wireForOnce(g) }
}

@inline(never)
private func wireForOnce(_ g: UnsafeMutablePointer<ts_g>) {
    guard ts_once_wired() == 0 else { return }   // an outer park of this initializer wired it
    let m = Machine.current!
    lockOSThreadInternal(Goroutine.from(header: g), m)
    ts_set_once_wired(1)
    m.processor?.counters.add(.onceWirings)
}

/// Registered with the machine layer once per process (Scheduler.start).
func installOnceAwareness() { ts_once_install(onceInitializerFinished) }

/// C callback, on the goroutine, when the outermost initializer that wired it ends.
/// The initializer still counts as a thread-owned lock here, so the handler defers.
private let onceInitializerFinished: @convention(c) () -> Void = {
    guard let g = ts_current_g(), let m = Machine.current else { return }
    unlockOSThreadInternal(Goroutine.from(header: g), m)
}
