// futex(2) wait/wake on a 32-bit word, for the lab's thread baselines and the EINTR study.
// The system call itself is in the machine layer (ts_host_futex_*); no syscall numbers here.
import CTimeslice
import Synchronization

/// A futex word. `Atomic<UInt32>` is laid out exactly like a UInt32 (`@_rawLayout(like:)`),
/// so the address of the heap cell is the address of the word the kernel waits on.
public final class FutexWord {
    public let cell: UnsafeMutablePointer<Atomic<UInt32>>

    public init(_ value: UInt32 = 0) {
        cell = .allocate(capacity: 1)
        cell.initialize(to: Atomic(value))
    }

    deinit {
        cell.deinitialize(count: 1)
        cell.deallocate()
    }

    public func load() -> UInt32 { cell.pointee.load(ordering: .acquiring) }
    public func store(_ v: UInt32) { cell.pointee.store(v, ordering: .releasing) }

    /// Sleeps while the word equals `expected`; may return spuriously (EINTR, EAGAIN).
    public func wait(expected: UInt32) { _ = Futex.waitOnce(UnsafeMutableRawPointer(cell), expected: expected) }
    public func wake() { Futex.wake(UnsafeMutableRawPointer(cell)) }
}

public enum Futex {
    /// One FUTEX_WAIT while `*word == expected`, with an optional relative timeout: 0 when woken,
    /// otherwise the errno as is (EINTR, ETIMEDOUT, EAGAIN). Never retried here: spurious
    /// returns are the caller's loop's business, and the EINTR study counts them.
    @discardableResult
    public static func waitOnce(_ word: UnsafeMutableRawPointer, expected: UInt32, timeoutNanoseconds: Int64? = nil) -> Int32 {
        ts_host_futex_wait_once(word.assumingMemoryBound(to: UInt32.self), expected, timeoutNanoseconds ?? -1)
    }

    /// Wakes up to `count` waiters (a failure can only be EFAULT/EINVAL: a bad word).
    public static func wake(_ word: UnsafeMutableRawPointer, count: UInt32 = 1) {
        _ = ts_host_futex_wake(word.assumingMemoryBound(to: UInt32.self), Int32(clamping: count))
    }
}
