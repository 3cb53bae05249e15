// A value guarded by a pthread mutex and condition variable, for the condvar ping-pong.
// The pthread objects live in heap cells because they must not move once initialized.
#if canImport(Glibc)
import Glibc
#endif

final class CondvarToken: @unchecked Sendable {
    // @unchecked: `value` is only touched with `mutex` held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var value: UInt32 = 0

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    func set(_ v: UInt32) {
        pthread_mutex_lock(mutex)
        value = v
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks until the value differs from `old`; returns the new value.
    func await(notEqual old: UInt32) -> UInt32 {
        pthread_mutex_lock(mutex)
        while value == old { pthread_cond_wait(cond, mutex) }
        let v = value
        pthread_mutex_unlock(mutex)
        return v
    }
}
