// The token the `threads` ping-pong hands back and forth, two ways: a value guarded by a pthread
// mutex and condition variable (mechanism condvar), or a bare futex word (mechanism futex).
#if canImport(Glibc)
import Glibc
#endif
import TimesliceHost

/// A 32-bit value one thread sets and another waits to see change.
protocol HandoffToken: Sendable {
    func set(_ v: UInt32)
    /// Blocks until the value differs from `old`; returns the new value.
    func await(notEqual old: UInt32) -> UInt32
}

/// The pthread objects live in heap cells because they must not move once initialized.
final class CondvarToken: HandoffToken, @unchecked Sendable {
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

/// A futex word: set = store + FUTEX_WAKE, await = FUTEX_WAIT until the value changes.
final class FutexToken: HandoffToken, @unchecked Sendable {
    // @unchecked: FutexWord is an atomic cell; every access is an atomic load or store.
    private let word = FutexWord(0)

    func set(_ v: UInt32) {
        word.store(v)
        word.wake()
    }

    func await(notEqual old: UInt32) -> UInt32 {
        var v = word.load()
        while v == old { word.wait(expected: v); v = word.load() }
        return v
    }
}
