// The runtime's own mutex: three-state futex lock (Drepper, "Futexes Are Tricky").
// Held only by runtime code, which never parks or gets preempted while holding it,
// so critical sections are short and a brief spin before sleeping pays off.
import CTimeslice

final class RuntimeLock {
    /// 0 unlocked, 1 locked, 2 locked with (possible) sleepers.
    private let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)

    init() { word.initialize(to: 0) }
    deinit { word.deallocate() }

    @inline(__always)
    func lock() {
        if ts_cas_u32(word, 0, 1) { return }
        lockSlow()
    }

    private func lockSlow() {
        for _ in 0..<64 {
            ts_cpu_relax()
            if ts_load_u32_relaxed(word) == 0 && ts_cas_u32(word, 0, 1) { return }
        }
        // Announce a sleeper, then sleep until the holder hands over.
        while ts_exchange_u32(word, 2) != 0 {
            _ = ts_futex_wait(word, 2, -1)
        }
    }

    @inline(__always)
    func unlock() {
        if ts_exchange_u32(word, 0) == 2 {
            _ = ts_futex_wake(word, 1)
        }
    }

    @inline(__always)
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
