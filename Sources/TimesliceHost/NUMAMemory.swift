// Putting memory on a NUMA node and proving where it landed: G stacks are
// bound to their M's node with mbind and checked with move_pages.

import CTimeslice
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public enum NUMAMemory {
    /// numa_available() >= 0: the kernel has NUMA support and lets us ask.
    /// When false, bind always fails and placement is "not available".
    public static var isAvailable: Bool { ts_numa_available() >= 0 }

    /// Highest node id libnuma knows, or nil when NUMA is not available.
    public static var maxNode: Int? {
        let node = ts_numa_max_node()
        return node >= 0 ? Int(node) : nil
    }

    /// Binds [address, address+length) to `node` with mbind(2): MPOL_BIND when
    /// `strict` (allocation fails rather than spill to another node),
    /// MPOL_PREFERRED otherwise. Pages already touched are migrated. `address`
    /// must be page aligned (mmap memory is); `length` is rounded up by the kernel.
    public static func bind(_ address: UnsafeMutableRawPointer, length: Int, toNode node: Int, strict: Bool = true) throws {
        guard node >= 0 else {
            throw HostSyscallError(call: "mbind", errno: 22 /* EINVAL */, detail: "node \(node)")
        }
        let rc = ts_mbind_node(address, UInt(length), Int32(node), strict ? 1 : 0)
        try HostSyscallError.check("mbind", rc, detail: "\(length) bytes at \(address), node \(node), \(strict ? "MPOL_BIND" : "MPOL_PREFERRED")")
    }

    /// Node of each of `count` pages starting at `address` (move_pages(2) in
    /// query mode). An entry is the node id, or a negative errno for that page
    /// (-ENOENT = -2: not faulted in yet). If the call itself fails, every entry
    /// is that call's negative errno.
    public static func nodes(ofPages address: UnsafeMutableRawPointer, count: Int) -> [Int] {
        guard count > 0 else { return [] }
        let page = pageSize
        var pages: [UnsafeMutableRawPointer?] = (0..<count).map { address + $0 * page }
        var status = [Int32](repeating: 0, count: count)
        let rc = pages.withUnsafeMutableBufferPointer { pagePointers in
            status.withUnsafeMutableBufferPointer { statusPointers in
                ts_move_pages_query(UInt(count), pagePointers.baseAddress, statusPointers.baseAddress)
            }
        }
        if rc != 0 { return Array(repeating: -Int(rc), count: count) }
        return status.map(Int.init)
    }

    /// The system page size (sysconf(_SC_PAGESIZE)).
    public static var pageSize: Int { hostPageSize }
}

private let hostPageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
