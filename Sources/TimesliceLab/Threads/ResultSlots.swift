// One result slot per worker thread, written by that worker and read after all are joined.
import Synchronization

final class ResultSlots<T>: @unchecked Sendable {
    // @unchecked: the Mutex makes every access exclusive; T itself never crosses threads
    // while a worker still runs.
    private let slots: Mutex<[T?]>

    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }

    func set(_ i: Int, _ v: T) { slots.withLock { $0[i] = v } }

    /// Filled slots in index order.
    var values: [T] { slots.withLock { $0.compactMap { $0 } } }
}
