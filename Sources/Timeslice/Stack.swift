// Goroutine stacks: carved out of large arenas, each stack with a guard region
// below it. Memory is committed lazily by the kernel on first touch, so a parked
// goroutine costs the few pages its frames actually used.
//
// Guards are installed with MADV_GUARD_INSTALL (Linux 6.13+), which keeps the
// whole arena one VMA; with mprotect every stack would cost two VMAs and 100 000
// goroutines would exceed the default vm.max_map_count of 65 530.
import CTimeslice
import Glibc
import TimesliceHost

struct GoroutineStack {
    let guardLow: UInt      // first byte of the guard
    let low: UInt           // first usable byte
    let high: UInt          // one past the last usable byte
    var size: Int { Int(high - low) }
}

/// Hands out stacks. Thread-safe; the hot path (reusing a dead goroutine's stack)
/// never comes here because dead goroutines keep their stacks (see the free lists
/// in GoroutineRecycling.swift).
final class StackPool {
    /// The NUMA node this pool's arenas are bound to (MPOL_PREFERRED), or nil
    /// for the default first-touch policy.
    let node: Int?
    /// Why binding failed, if it did (kept, not fatal: the stack still works).
    private(set) var bindError: String?
    let stackSize: Int
    let guardSize: Int
    let stacksPerArena: Int
    private let lock = RuntimeLock()
    private var free: [GoroutineStack] = []
    private(set) var usesMadviseGuards = true
    private(set) var arenasMapped = 0

    init(stackSize: Int, guardSize: Int = 64 * 1024, node: Int? = nil) {
        self.node = node
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        self.stackSize = (stackSize + page - 1) / page * page
        self.guardSize = (guardSize + page - 1) / page * page
        // About 16 MiB of address space per arena, at least 4 stacks.
        stacksPerArena = max(4, (16 << 20) / (self.stackSize + self.guardSize))
    }

    func allocate() -> GoroutineStack {
        lock.lock()
        defer { lock.unlock() }
        if let stack = free.popLast() { return stack }
        mapArena()
        return free.removeLast()
    }

    func release(_ stack: GoroutineStack) {
        lock.withLock { free.append(stack) }
    }

    /// Maps one arena and adds its stacks to the free list. Caller holds `lock`.
    private func mapArena() {
        var madvise = false
        guard let base = ts_stack_arena_map(stacksPerArena, stackSize, guardSize, &madvise) else {
            let reason = String(cString: strerror(errno))
            fatalError("timeslice: cannot map \(stacksPerArena) goroutine stacks of \(stackSize) bytes: \(reason)")
        }
        usesMadviseGuards = usesMadviseGuards && madvise
        arenasMapped += 1
        if let node {
            // Before any page is touched, so every stack page lands on `node`.
            do {
                try NUMAMemory.bind(base, length: stacksPerArena * (stackSize + guardSize), toNode: node, strict: false)
            } catch {
                bindError = "\(error)"
            }
        }
        let slot = UInt(stackSize + guardSize)
        let start = UInt(bitPattern: base)
        // Reverse so that popLast hands out the lowest address first.
        for i in (0..<UInt(stacksPerArena)).reversed() {
            let guardLow = start + i * slot
            free.append(GoroutineStack(guardLow: guardLow, low: guardLow + UInt(guardSize),
                                       high: guardLow + slot))
        }
    }
}
