// Goroutine creation and recycling: Go's gfget/gfput plus newproc.
//
// Goroutine objects are never freed while the scheduler lives; a dead one keeps
// its stack and goes to its P's free list (owner-only, no lock), which spills
// 32 at a time to the scheduler's free list (goroutineLock) past 64 and refills
// from it, 32 at a time, when empty. New objects get a stack from the pool of
// the creating M's NUMA node (Stack.swift).
import CTimeslice

extension Scheduler {
    // MARK: Creation

    /// Makes a runnable G for `body`, reusing a dead one when possible.
    /// `cache` is the calling M's P (owner-only free list), or nil.
    func makeGoroutine(_ body: @escaping () -> Void, cache: Processor?) -> Goroutine {
        let g: Goroutine
        if let p = cache, let reused = p.freeGoroutines.popLast() {
            g = reused
        } else if let reused = takeFreeGoroutinesForCache(cache) {
            g = reused
        } else {
            g = Goroutine(scheduler: self, stack: stackPool(forNode: Machine.current?.node).allocate())
            goroutineLock.withLock { allGoroutines.append(g) }
        }
        g.prepare(id: nextGoroutineID.wrappingAdd(1, ordering: .relaxed).newValue, body: body)
        liveGoroutines.wrappingAdd(1, ordering: .relaxed)
        (cache?.counters ?? counters).add(.spawns)
        return g
    }

    /// Refills the P's cache from the global free list (up to 32) and returns one.
    fileprivate func takeFreeGoroutinesForCache(_ p: Processor?) -> Goroutine? {
        goroutineLock.lock()
        defer { goroutineLock.unlock() }
        guard let g = freeGoroutines.popLast() else { return nil }
        if let p {
            let n = min(32, freeGoroutines.count)
            p.freeGoroutines.append(contentsOf: freeGoroutines.suffix(n))
            freeGoroutines.removeLast(n)
        }
        return g
    }

    /// Called on g0 after a G exited.
    func recycle(_ g: Goroutine, cache p: Processor?) {
        liveGoroutines.wrappingSubtract(1, ordering: .relaxed)
        guard let p else {
            goroutineLock.withLock { freeGoroutines.append(g) }
            return
        }
        p.freeGoroutines.append(g)
        if p.freeGoroutines.count > 64 {
            let moved = p.freeGoroutines.suffix(32)
            p.freeGoroutines.removeLast(32)
            goroutineLock.withLock { freeGoroutines.append(contentsOf: moved) }
        }
    }

    /// Spawns `body` from the calling goroutine (or from any thread).
    func spawn(_ body: @escaping () -> Void) {
        let m = Machine.current
        let p = m?.processor
        let g = makeGoroutine(body, cache: p)
        if let p {
            putLocal(g, on: p, next: true)
        } else {
            putGlobal(g)
        }
        wakeIdleProcessor()
    }

    func stackPool(forNode node: Int?) -> StackPool {
        guard let node, node + 1 < stackPools.count else { return stackPools[0] }
        return stackPools[node + 1]
    }
}
