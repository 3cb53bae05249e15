// The one way Swift code in this project makes a libc system call directly (in the manner of
// swift-nio's syscall wrappers): one errno convention, one EINTR policy, and failures as a typed
// HostSyscallError naming the call. Calls the machine layer (CTimeslice) already wraps go
// through their shims and `HostSyscallError.check`.
//
// EINTR policy: retried, always, except in `once`, which exists for code that studies EINTR
// (the preemption bench) and must see it.
#if canImport(Glibc)
import Glibc
#endif

public enum SystemCall {
    /// A call that returns -1 and sets errno on failure (read, write, poll, open, ...),
    /// retried on EINTR. Returns its non-negative result.
    @discardableResult @inline(__always)
    public static func retrying<T: FixedWidthInteger & SignedInteger>(_ name: @autoclosure () -> String,
                                                                      _ body: () -> T) throws -> T {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = errno
            if e == EINTR { continue }
            throw HostSyscallError(call: name(), errno: e)
        }
    }

    /// The same without the EINTR retry: EINTR surfaces as the error.
    @discardableResult @inline(__always)
    public static func once<T: FixedWidthInteger & SignedInteger>(_ name: @autoclosure () -> String,
                                                                  _ body: () -> T) throws -> T {
        let r = body()
        if r >= 0 { return r }
        throw HostSyscallError(call: name(), errno: errno)
    }

    /// A call that returns 0 or an errno value itself (posix_spawn, pthread_*, clock_nanosleep),
    /// retried on EINTR.
    @inline(__always)
    public static func returningErrno(_ name: @autoclosure () -> String, _ body: () -> Int32) throws {
        while true {
            let e = body()
            if e == 0 { return }
            if e == EINTR { continue }
            throw HostSyscallError(call: name(), errno: e)
        }
    }
}
