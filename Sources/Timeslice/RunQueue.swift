// The per-P local run queue: a fixed ring plus a `runnext` slot, after Go's
// runqput/runqget/runqgrab/runqsteal (runtime/proc.go).
//
// Protocol
//   - Only the owning P pushes, and only it stores `tail`.
//   - Anyone pops from `head` with a CAS: the owner in `pop`, thieves in `grab`.
//   - A thief copies up to half of the slots between head and tail, then commits
//     the batch with one CAS on head. If the CAS fails the copy is discarded, so a
//     slot read concurrently with the owner overwriting it is harmless: the owner
//     only reuses a slot after head has moved past it, which the failed CAS proves.
//   - `runnext` holds the G that should run next (the one just readied by the
//     running G): it inherits the time slice, which makes ping-pong pairs cheap.
//     Thieves may take it too, but only when the ring is empty.
// Memory ordering
//   - tailWord.pointee.store(release) publishes the slot written just before it; thieves
//     load tail with acquire before reading slots.
//   - head CAS (acquiring+releasing): a successful CAS by a thief hands the slots
//     it read over to it, and the owner's acquire load of head before reusing a
//     slot orders that reuse after the thief's read.
// It is a struct of pointers (no reference counting on the schedule path); the
// owner frees it once with deallocate().
// Entries are opaque non-zero words (a retained-elsewhere Goroutine pointer in
// the runtime, plain integers in tests). Capacity is a power of two; the runtime
// uses 256 and the tests a tiny one so that every wrap-around is exercised.
import Synchronization

struct LocalRunQueue {
    let capacity: UInt32
    private let mask: UInt32
    /// Consumers' index. CAS by the owner (pop) and by thieves (grab).
    private let headWord: UnsafeMutablePointer<Atomic<UInt32>>
    /// Producer's index. Stored only by the owner.
    private let tailWord: UnsafeMutablePointer<Atomic<UInt32>>
    /// Ring slots. Written by the owner only; read by anyone between head and tail.
    private let slots: UnsafeMutablePointer<Atomic<UInt>>
    /// The G to run next, or 0. Exchanged by the owner, CAS'd by thieves.
    private let runnextWord: UnsafeMutablePointer<Atomic<UInt>>

    init(capacity: Int = 256) {
        precondition(capacity >= 2 && capacity.nonzeroBitCount == 1, "run queue capacity must be a power of two")
        self.capacity = UInt32(capacity)
        self.mask = UInt32(capacity - 1)
        slots = .allocate(capacity: capacity)
        for i in 0..<capacity { (slots + i).initialize(to: Atomic<UInt>(0)) }
        headWord = .allocate(capacity: 1)
        headWord.initialize(to: Atomic(0))
        tailWord = .allocate(capacity: 1)
        tailWord.initialize(to: Atomic(0))
        runnextWord = .allocate(capacity: 1)
        runnextWord.initialize(to: Atomic(0))
    }

    /// Frees the storage; the queue must not be used afterwards.
    func deallocate() {
        slots.deinitialize(count: Int(capacity))
        slots.deallocate()
        headWord.deallocate()
        tailWord.deallocate()
        runnextWord.deallocate()
    }

    /// Number of entries, racy by nature (for schedtrace and heuristics).
    var count: Int {
        while true {
            let h = headWord.pointee.load(ordering: .acquiring)
            let t = tailWord.pointee.load(ordering: .acquiring)
            if h == headWord.pointee.load(ordering: .acquiring) {
                return Int(t &- h) + (runnextWord.pointee.load(ordering: .relaxed) != 0 ? 1 : 0)
            }
        }
    }

    /// True when both the ring and runnext look empty. Used by the spinning
    /// dance, where a false "non-empty" only costs a retry.
    var isEmpty: Bool {
        while true {
            let h = headWord.pointee.load(ordering: .acquiring)
            let t = tailWord.pointee.load(ordering: .acquiring)
            let next = runnextWord.pointee.load(ordering: .acquiring)
            if tailWord.pointee.load(ordering: .acquiring) == t {
                return h == t && next == 0
            }
        }
    }

    /// Owner only. Puts `entry` at the tail, or in runnext when `next` is set
    /// (kicking the previous runnext to the tail). When the ring is full, half
    /// of it plus the entry are returned for the caller to move to the global
    /// queue (Go's runqputslow); otherwise returns nil.
    func push(_ entry: UInt, next: Bool) -> [UInt]? {
        var entry = entry
        if next {
            let old = runnextWord.pointee.exchange(entry, ordering: .acquiringAndReleasing)
            if old == 0 { return nil }
            entry = old
        }
        while true {
            let h = headWord.pointee.load(ordering: .acquiring)
            let t = tailWord.pointee.load(ordering: .relaxed)
            if t &- h < capacity {
                slots[Int(t & mask)].store(entry, ordering: .relaxed)
                tailWord.pointee.store(t &+ 1, ordering: .releasing)
                return nil
            }
            if let batch = takeHalfForOverflow(entry, head: h, tail: t) { return batch }
            // A thief moved head: there is room now.
        }
    }

    /// Moves half of a full ring plus `entry` out, in FIFO order.
    private func takeHalfForOverflow(_ entry: UInt, head h: UInt32, tail t: UInt32) -> [UInt]? {
        let n = (t &- h) / 2
        guard n == capacity / 2 else { fatalError("run queue not full in overflow path: \(t &- h)") }
        var batch: [UInt] = []
        batch.reserveCapacity(Int(n) + 1)
        for i in 0..<n { batch.append(slots[Int((h &+ i) & mask)].load(ordering: .relaxed)) }
        if !headWord.pointee.compareExchange(expected: h, desired: h &+ n, ordering: .acquiringAndReleasing).exchanged {
            return nil
        }
        batch.append(entry)
        return batch
    }

    /// Owner only. Takes runnext first, then the head of the ring.
    /// `inheritsTime` is true for runnext: it continues the current time slice.
    func pop() -> (entry: UInt, inheritsTime: Bool)? {
        var next = runnextWord.pointee.load(ordering: .relaxed)
        while next != 0 {
            let (exchanged, original) = runnextWord.pointee.compareExchange(
                expected: next, desired: 0, ordering: .acquiringAndReleasing)
            if exchanged { return (next, true) }
            next = original
        }
        while true {
            let h = headWord.pointee.load(ordering: .acquiring)
            let t = tailWord.pointee.load(ordering: .relaxed)
            if t == h { return nil }
            let entry = slots[Int(h & mask)].load(ordering: .relaxed)
            if headWord.pointee.compareExchange(expected: h, desired: h &+ 1, ordering: .acquiringAndReleasing).exchanged {
                return (entry, false)
            }
        }
    }

    /// Owner only: removes everything (used when a P is destroyed).
    func drain() -> [UInt] {
        var out: [UInt] = []
        while let (entry, _) = pop() { out.append(entry) }
        return out
    }

    /// Thief side: copies half of the victim's entries into `thief`'s ring
    /// (which must be empty; the caller owns it) without publishing them, and
    /// returns how many were grabbed. Go's runqgrab.
    private func grab(into thief: LocalRunQueue, stealRunnext: Bool) -> UInt32 {
        let thiefTail = thief.tailWord.pointee.load(ordering: .relaxed)
        while true {
            let h = headWord.pointee.load(ordering: .acquiring)
            let t = tailWord.pointee.load(ordering: .acquiring)
            var n = t &- h
            n = n &- n / 2
            if n == 0 {
                if stealRunnext {
                    let next = runnextWord.pointee.load(ordering: .acquiring)
                    if next != 0 {
                        if runnextWord.pointee.compareExchange(expected: next, desired: 0, ordering: .acquiringAndReleasing).exchanged {
                            thief.slots[Int(thiefTail & thief.mask)].store(next, ordering: .relaxed)
                            return 1
                        }
                        continue
                    }
                }
                return 0
            }
            if n > capacity / 2 { continue }  // head and tail read inconsistently: retry
            for i in 0..<n {
                let entry = slots[Int((h &+ i) & mask)].load(ordering: .relaxed)
                thief.slots[Int((thiefTail &+ i) & thief.mask)].store(entry, ordering: .relaxed)
            }
            if headWord.pointee.compareExchange(expected: h, desired: h &+ n, ordering: .acquiringAndReleasing).exchanged {
                return n
            }
        }
    }

    /// Called by the owner of `self` (the thief): steals half of `victim`'s
    /// queue, returns one entry to run and keeps the rest in its own ring.
    func steal(from victim: LocalRunQueue, stealRunnext: Bool) -> (entry: UInt, count: Int)? {
        precondition(victim.capacity <= capacity, "steal from a larger queue could overflow")
        let t = tailWord.pointee.load(ordering: .relaxed)
        var n = victim.grab(into: self, stealRunnext: stealRunnext)
        if n == 0 { return nil }
        let stolen = Int(n)
        n -= 1
        let entry = slots[Int((t &+ n) & mask)].load(ordering: .relaxed)
        if n == 0 { return (entry, stolen) }
        let h = headWord.pointee.load(ordering: .acquiring)
        guard t &- h &+ n < capacity else { fatalError("stolen batch overflows the thief's queue") }
        tailWord.pointee.store(t &+ n, ordering: .releasing)
        return (entry, stolen)
    }
}
