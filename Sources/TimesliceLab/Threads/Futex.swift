// futex(2) wait/wake on a 32-bit word, for the `threads` ping-pong baseline.
//
// Swift cannot import the variadic `syscall(2)`, and the machine layer (CTimeslice) belongs to
// the runtime, so we call glibc's `syscall` through a fixed-arity function pointer. That is
// sound on Linux x86_64 and aarch64: variadic integer/pointer arguments travel in the same
// registers as fixed ones, and glibc's `syscall` is an assembly stub that never reads %al.
#if canImport(Glibc)
import Glibc
#endif
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
    public func wait(expected: UInt32) { Futex.wait(UnsafeMutableRawPointer(cell), expected: expected) }
    public func wake() { Futex.wake(UnsafeMutableRawPointer(cell)) }
}

public enum Futex {
    private typealias SyscallFn = @convention(c) (Int, UnsafeMutableRawPointer?, Int32, UInt32, UnsafeRawPointer?, UnsafeRawPointer?, UInt32) -> Int

    private static let call: SyscallFn = {
        // RTLD_DEFAULT is the null handle on glibc.
        guard let sym = dlsym(nil, "syscall") else {
            fatalError("glibc syscall() not found")
        }
        return unsafeBitCast(sym, to: SyscallFn.self)
    }()

    #if arch(x86_64)
    private static let sysFutex = 202
    #elseif arch(arm64)
    private static let sysFutex = 98
    #endif
    private static let waitPrivate: Int32 = 0 | 128  // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
    private static let wakePrivate: Int32 = 1 | 128  // FUTEX_WAKE | FUTEX_PRIVATE_FLAG

    /// Sleeps while `*word == expected`. Spurious returns (EINTR, EAGAIN) are the caller's loop's business.
    static func wait(_ word: UnsafeMutableRawPointer, expected: UInt32) {
        _ = call(sysFutex, word, waitPrivate, expected, nil, nil, 0)
    }

    static func wake(_ word: UnsafeMutableRawPointer, count: UInt32 = 1) {
        _ = call(sysFutex, word, wakePrivate, count, nil, nil, 0)
    }

    /// One FUTEX_WAIT with an optional relative timeout, its result returned as is
    /// (0, or -1 with errno: EINTR, ETIMEDOUT, EAGAIN) for code that studies them.
    static func waitOnce(_ word: UnsafeMutableRawPointer, expected: UInt32, timeout: UnsafePointer<timespec>?) -> Int {
        call(sysFutex, word, waitPrivate, expected, UnsafeRawPointer(timeout), nil, 0)
    }
}
