// The one error type for failed host syscalls, so every caller reports the
// call's name and the kernel's reason the same way.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A system call (or libnuma call) that failed: "sched_setaffinity: Invalid argument".
public struct HostSyscallError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Name of the call, as in its man page.
    public let call: String
    /// errno value it failed with.
    public let errno: Int32
    /// Extra context (which CPUs, which node), if any.
    public let detail: String?

    public init(call: String, errno: Int32, detail: String? = nil) {
        self.call = call
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return detail.map { "\(call)(\($0)): \(reason)" } ?? "\(call): \(reason)"
    }

    /// Turns a shim's returned errno (0 = success) into a throw.
    static func check(_ call: String, _ result: Int32, detail: @autoclosure () -> String? = nil) throws {
        if result != 0 { throw HostSyscallError(call: call, errno: result, detail: detail()) }
    }
}
