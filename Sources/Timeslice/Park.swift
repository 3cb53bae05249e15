// Parking and readying goroutines: the building block of every blocking primitive.
//
// Protocol (Go's gopark/goready): the parking G holds the primitive's lock while
// it records itself as a waiter, then switches to g0, which releases that lock
// only after the G's context is saved. A waker takes the same lock, removes the
// waiter and readies it, so it can never resume a G that is still switching out.
//
// A select parks holding the locks of all its channels at once, one waiter per
// case; g0 releases them all (parkCurrent(releasingAll:)). Such waiters point
// to the select's shared SelectState, and a waker that pops one must first win
// the state's CAS (WaitQueue.dequeue); see Select.swift.
import CTimeslice

/// Parks the running goroutine, releasing `lock` once it is off its stack.
/// Preemption must be disabled; returns when some waker readied it.
@inline(__always)
func parkCurrent(releasing lock: RuntimeLock) {
    switchToScheduler(.park, releasing: lock)
}

/// The locks a select holds while it parks: unretained RuntimeLock pointers, in
/// the select's lock order, each once. Lives in the select's frame.
struct ParkLockList {
    let locks: UnsafePointer<UnsafeMutableRawPointer>
    let count: Int
}

/// Parks the running goroutine, releasing every lock of `list` once it is off
/// its stack. Preemption must be disabled; returns when some waker readied it.
/// On return the caller must re-acquire all of them before it touches `list`
/// or leaves the frame holding it: g0 may still be releasing the later ones
/// while the G already runs again (see releaseAfterPark).
@inline(__always)
func parkCurrent(releasingAll list: UnsafePointer<ParkLockList>) {
    keepOnThreadIfInsideOnce(ts_current_g().unsafelyUnwrapped)
    ts_switch_to_g0(SwitchReason.parkReleasingAll.rawValue, UnsafeMutableRawPointer(mutating: list))
}

/// g0's half of parkCurrent(releasingAll:). Once the first lock is released a
/// waker may ready the G and another M may run it, so the list (in the G's
/// frame) is read only while a lock of it is still held: entry i before lock i
/// is released. The G re-locks the same set before it frees the list, and it
/// cannot hold lock i before g0 released it, so every read sees the list intact.
func releaseAfterPark(_ raw: UnsafeMutableRawPointer) {
    let list = raw.assumingMemoryBound(to: ParkLockList.self).pointee
    for i in 0..<list.count {
        // +1 while unlocking: after the last unlock the select may return and
        // its channels (owners of these locks) may go away.
        Unmanaged<RuntimeLock>.fromOpaque(list.locks[i]).takeUnretainedValue().unlock()
    }
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

    /// Pops the first waiter that may still complete: a plain waiter, or a select
    /// waiter whose select this call claims. Waiters of selects that another
    /// channel completed first are dropped (their select removes the rest of its
    /// waiters itself). Channels use this; other primitives never queue selects.
    @inline(__always)
    mutating func dequeue() -> UnsafeMutablePointer<Waiter>? {
        while let w = popFirst() {
            if let state = w.pointee.select, !SelectState.claim(state, for: w) { continue }
            return w
        }
        return nil
    }

    /// Removes `w` if it is still queued here (a popped waiter has no links and
    /// is not the head).
    mutating func removeIfQueued(_ w: UnsafeMutablePointer<Waiter>) {
        if w.pointee.previous != nil || head == w { remove(w) }
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
    /// The select this waiter is one case of, or nil for a plain operation.
    /// Set before the waiter is queued and constant while it is.
    let select: UnsafeMutablePointer<SelectState>?
    var next: UnsafeMutablePointer<Waiter>?
    var previous: UnsafeMutablePointer<Waiter>?

    init(goroutine: UInt, element: UnsafeMutableRawPointer?, select: UnsafeMutablePointer<SelectState>? = nil) {
        self.goroutine = goroutine
        self.element = element
        self.select = select
    }
}

