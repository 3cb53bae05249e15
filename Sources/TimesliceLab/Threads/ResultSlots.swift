// One result slot per worker (thread or goroutine), written by that worker and read after all
// are joined.
//
// No lock: goroutines write here, and a goroutine may be preempted inside a critical section
// of a lock whose fast path is inlined (Synchronization.Mutex) and resume on another thread
// (README "Things a user must know"). Each slot has exactly one writer, so none is needed.

final class ResultSlots<T>: @unchecked Sendable {
    // @unchecked: slot i is written only by worker i, and read only after every worker was
    // joined (the join orders the writes before the reads). A raw buffer, not an Array, so
    // concurrent writes to distinct slots never touch shared array storage or its refcount.
    private let slots: UnsafeMutableBufferPointer<T?>

    init(count: Int) {
        slots = .allocate(capacity: max(count, 1))
        slots.initialize(repeating: nil)
    }

    deinit {
        _ = slots.deinitialize()
        slots.deallocate()
    }

    func set(_ i: Int, _ v: T) { slots[i] = v }

    /// Filled slots in index order.
    var values: [T] { slots.compactMap { $0 } }
}
