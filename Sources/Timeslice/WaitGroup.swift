// Go's sync.WaitGroup: wait() parks until the counter drops to zero.
import CTimeslice

public final class WaitGroup {
    private let lock = RuntimeLock()
    // Guarded by `lock`.
    @exclusivity(unchecked) private var counter = 0
    @exclusivity(unchecked) private var waiters = WaitQueue()

    public init() {}

    /// Adds `delta` (may be negative) to the counter; at zero, wakes every waiter.
    /// Callable from any thread.
    public func add(_ delta: Int = 1) {
        withPreemptionDisabled { addLocked(delta) }
    }

    private func addLocked(_ delta: Int) {
        lock.lock()
        counter += delta
        if counter < 0 {
            lock.unlock()
            fatalError("timeslice: negative WaitGroup counter")
        }
        var woken: [Goroutine] = []
        if counter == 0 {
            while let w = waiters.popFirst() { woken.append(Goroutine.from(opaque: w.pointee.goroutine)) }
        }
        lock.unlock()
        for g in woken { g.scheduler.ready(g, next: false) }
    }

    public func done() { add(-1) }

    /// Parks the calling goroutine until the counter is zero.
    public func wait() {
        withRuntimeEntry("WaitGroup.wait") { g, _ in
            lock.lock()
            if counter == 0 {
                lock.unlock()
                return
            }
            var waiter = Waiter(goroutine: UInt(bitPattern: g.pointee.owner), element: nil)
            withUnsafeMutablePointer(to: &waiter) { w in
                waiters.append(w)
                parkCurrent(releasing: lock)
            }
        }
    }
}
