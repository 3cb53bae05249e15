// The global run queue (tokio's "inject" queue, Go's sched.runq) and the two
// ways a goroutine becomes runnable: onto the caller's P (putLocal, ready) or
// onto the global queue, for callers without a P and for a full local ring.
//
// The queue is an intrusive FIFO through Goroutine.schedLink, guarded by the
// scheduler's `lock`; `globalCount` lets the schedule path skip the lock when
// it is empty. Ms take a fair share at a time (takeGlobalLocked, Go's
// globrunqget); findRunnable looks here first every 61st schedule so two Gs
// ping-ponging through runnext cannot starve it (FindRunnable.swift).
import CTimeslice

extension Scheduler {
    // MARK: Making goroutines runnable

    /// Owner side: the caller holds `p`, so it may use p's RunQueueOwner. A full
    /// ring spills half of itself to the global queue (Go's runqputslow).
    @inline(__always)
    func putLocal(_ g: Goroutine, on p: Processor, next: Bool) {
        if let overflow = p.runQueue.push(g.opaque, next: next) {
            p.counters.add(.overflows)
            putGlobalBatch(overflow)
        }
    }

    /// Makes a parked G runnable, on the caller's P when it has one (runnext, so it
    /// runs soon and inherits the slice, like Go's ready()), else globally.
    func ready(_ g: Goroutine, next: Bool = true) {
        if let m = ts_current_m(), let pRef = Unmanaged<Machine>.fromOpaque(m.pointee.owner)
            ._withUnsafeGuaranteedRef({ $0.processorRef }) {
            pRef._withUnsafeGuaranteedRef { p in putLocal(g, on: p, next: next) }
        } else {
            putGlobal(g)
        }
        wakeIdleProcessor()
    }

    // MARK: The global queue

    func putGlobal(_ g: Goroutine) {
        lock.withLock { appendGlobalLocked(g.opaque) }
    }

    func putGlobalBatch(_ entries: [UInt]) {
        lock.withLock {
            for e in entries { appendGlobalLocked(e) }
        }
    }

    func appendGlobalLocked(_ entry: UInt) {
        Goroutine.from(opaque: entry).schedLink = 0
        if globalTail != 0 {
            Goroutine.from(opaque: globalTail).schedLink = entry
        } else {
            globalHead = entry
        }
        globalTail = entry
        globalCount.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    fileprivate func popGlobalLocked() -> Goroutine? {
        guard globalHead != 0 else { return nil }
        let g = Goroutine.from(opaque: globalHead)
        globalHead = g.schedLink
        if globalHead == 0 { globalTail = 0 }
        g.schedLink = 0
        globalCount.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return g
    }

    /// Takes a fair share of the global queue: one to run, the rest into p's
    /// queue (at most `max` in all when max > 0). Go's globrunqget.
    func takeGlobalLocked(into p: Processor, max: Int) -> Goroutine? {
        let count = globalCount.load(ordering: .relaxed)
        guard count > 0 else { return nil }
        var n = Swift.min(count, count / maxProcs + 1)
        if max > 0 { n = Swift.min(n, max) }
        n = Swift.min(n, Int(p.runQueue.capacity) / 2)
        guard let first = popGlobalLocked() else { return nil }
        for _ in 1..<Swift.max(n, 1) {
            guard let g = popGlobalLocked() else { break }
            if let overflow = p.runQueue.push(g.opaque, next: false) {
                for e in overflow { appendGlobalLocked(e) }
            }
        }
        return first
    }

    func takeGlobal(into p: Processor, max: Int) -> Goroutine? {
        guard globalCount.load(ordering: .relaxed) > 0 else { return nil }
        return lock.withLock { takeGlobalLocked(into: p, max: max) }
    }
}
