// Parking and readying goroutines: the building block of every blocking primitive.
//
// Protocol (Go's gopark/goready): the parking G holds the primitive's lock while
// it records itself as a waiter, then switches to g0, which releases that lock
// only after the G's context is saved. A waker takes the same lock, removes the
// waiter and readies it, so it can never resume a G that is still switching out.
import CTimeslice

/// Parks the running goroutine, releasing `lock` once it is off its stack.
/// Preemption must be disabled; returns when some waker readied it.
@inline(__always)
func parkCurrent(releasing lock: RuntimeLock) {
    switchToScheduler(.park, releasing: lock)
}

/// An intrusive FIFO of parked goroutines, each node living in the parked
/// goroutine's own stack frame (its stack does not move while it is parked).
/// Guarded by the owning primitive's lock.
struct WaitQueue {
    private var head: UnsafeMutablePointer<Waiter>?
    private var tail: UnsafeMutablePointer<Waiter>?

    var isEmpty: Bool { head == nil }

    mutating func append(_ w: UnsafeMutablePointer<Waiter>) {
        w.pointee.next = nil
        w.pointee.previous = tail
        if let tail { tail.pointee.next = w } else { head = w }
        tail = w
    }

    mutating func popFirst() -> UnsafeMutablePointer<Waiter>? {
        guard let w = head else { return nil }
        remove(w)
        return w
    }

    mutating func remove(_ w: UnsafeMutablePointer<Waiter>) {
        if let p = w.pointee.previous { p.pointee.next = w.pointee.next } else { head = w.pointee.next }
        if let n = w.pointee.next { n.pointee.previous = w.pointee.previous } else { tail = w.pointee.previous }
        w.pointee.next = nil
        w.pointee.previous = nil
    }
}

/// One parked goroutine (Go's sudog).
struct Waiter {
    /// The parked goroutine (unretained: the scheduler keeps every G alive).
    let goroutine: UInt
    /// Where a channel operation's element is read from or written to: one
    /// Element of stack storage in the parked goroutine's frame. A parked sender's
    /// slot is initialized (the receiver moves it out); a parked receiver's slot
    /// is uninitialized (the sender initializes it). `Goroutine.wakeSucceeded`
    /// tells the woken goroutine which happened.
    var element: UnsafeMutableRawPointer?
    var next: UnsafeMutablePointer<Waiter>?
    var previous: UnsafeMutablePointer<Waiter>?

    init(goroutine: UInt, element: UnsafeMutableRawPointer?) {
        self.goroutine = goroutine
        self.element = element
    }
}

