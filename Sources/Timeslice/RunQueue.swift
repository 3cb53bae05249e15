// The per-P local run queue: a fixed ring plus a `runnext` slot, after Go's
// runqput/runqget/runqgrab/runqsteal (runtime/proc.go).
//
// Ownership in the types (tokio's Local/Steal, crossbeam's Worker/Stealer):
//   - `RunQueueOwner` is the single producer. It is non-copyable: exactly one
//     exists per ring, held by its Processor and used only by the M holding
//     that P. Only it can push, pop, drain, take stolen work into its ring, and
//     spill half the ring to the global queue on overflow. It frees the storage
//     when it is destroyed.
//   - `RunQueueStealer` is a copyable view for everyone else (other Ms, sysmon,
//     schedtrace): it can steal half of the ring into *another* ring's owner, and
//     read the length. It must not outlive its owner (the scheduler keeps every P
//     alive, so in the runtime it cannot).
// Both are structs of the same raw pointers with @inline(__always) methods:
// no reference counting, no extra indirection on the schedule path.
//
// Protocol
//   - Only the owner pushes, and only it stores `tail`.
//   - Anyone pops from `head` with a CAS: the owner in `pop`, thieves in `grab`.
//   - A thief copies up to half of the slots between head and tail, then commits
//     the batch with one CAS on head. If the CAS fails the copy is discarded, so a
//     slot read concurrently with the owner overwriting it is harmless: the owner
//     only reuses a slot after head has moved past it, which the failed CAS proves.
//   - `runnext` holds the G that should run next (the one just readied by the
//     running G): it inherits the time slice, which makes ping-pong pairs cheap.
//     Thieves may take it too, but only when the ring is empty.
// Memory ordering
//   - tail.store(release) publishes the slot written just before it; thieves
//     load tail with acquire before reading slots.
//   - head CAS (acquiring+releasing): a successful CAS by a thief hands the slots
//     it read over to it, and the owner's acquire load of head before reusing a
//     slot orders that reuse after the thief's read.
// Entries are opaque non-zero words (a retained-elsewhere Goroutine pointer in
// the runtime, plain integers in tests). Capacity is a power of two; the runtime
// uses 256 and the tests a tiny one so that every wrap-around is exercised.
import Synchronization

/// The shared storage both handles point at. Not visible outside this file.
fileprivate struct RunQueueStorage {
    let capacity: UInt32
    let mask: UInt32
    /// Consumers' index. CAS by the owner (pop) and by thieves (grab).
    let headWord: UnsafeMutablePointer<Atomic<UInt32>>
    /// Producer's index. Stored only by the owner.
    let tailWord: UnsafeMutablePointer<Atomic<UInt32>>
    /// Ring slots. Written by the owner (and by a thief only into its *own* ring,
    /// beyond its tail, before publishing); read by anyone between head and tail.
    let slots: UnsafeMutablePointer<Atomic<UInt>>
    /// The G to run next, or 0. Exchanged by the owner, CAS'd by thieves.
    let runnextWord: UnsafeMutablePointer<Atomic<UInt>>

    init(capacity: Int) {
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

    func deallocate() {
        slots.deinitialize(count: Int(capacity))
        slots.deallocate()
        headWord.deallocate()
        tailWord.deallocate()
        runnextWord.deallocate()
    }

    /// Number of entries, racy by nature (for schedtrace and heuristics).
    @inline(__always)
    var count: Int {
        while true {
            let h = headWord.pointee.load(ordering: .acquiring)
            let t = tailWord.pointee.load(ordering: .acquiring)
            if h == headWord.pointee.load(ordering: .acquiring) {
                return Int(t &- h) + (runnextWord.pointee.load(ordering: .relaxed) != 0 ? 1 : 0)
            }
        }
    }

    /// True when both the ring and runnext look empty.
    @inline(__always)
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
}

/// The owner's handle: the only way to push, pop, drain or receive stolen work.
/// Non-copyable, so there is exactly one per ring; it frees the ring on deinit.
struct RunQueueOwner: ~Copyable {
    fileprivate let storage: RunQueueStorage

    init(capacity: Int = 256) {
        storage = RunQueueStorage(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// A handle for thieves and observers. Valid as long as this owner lives.
    var stealer: RunQueueStealer { RunQueueStealer(storage: storage) }

    var capacity: UInt32 { storage.capacity }

    /// Number of entries, racy for everyone but the owner.
    @inline(__always) var count: Int { storage.count }

    /// True when both the ring and runnext look empty.
    @inline(__always) var isEmpty: Bool { storage.isEmpty }

    /// Puts `entry` at the tail, or in runnext when `next` is set (kicking the
    /// previous runnext to the tail). When the ring is full, half of it plus the
    /// entry are returned for the caller to move to the global queue (Go's
    /// runqputslow); otherwise returns nil.
    @inline(__always)
    func push(_ entry: UInt, next: Bool) -> [UInt]? {
        let s = storage
        var entry = entry
        if next {
            let old = s.runnextWord.pointee.exchange(entry, ordering: .acquiringAndReleasing)
            if old == 0 { return nil }
            entry = old
        }
        while true {
            let h = s.headWord.pointee.load(ordering: .acquiring)
            let t = s.tailWord.pointee.load(ordering: .relaxed)
            if t &- h < s.capacity {
                s.slots[Int(t & s.mask)].store(entry, ordering: .relaxed)
                s.tailWord.pointee.store(t &+ 1, ordering: .releasing)
                return nil
            }
            if let batch = takeHalfForOverflow(entry, head: h, tail: t) { return batch }
            // A thief moved head: there is room now.
        }
    }

    /// Moves half of a full ring plus `entry` out, in FIFO order.
    private func takeHalfForOverflow(_ entry: UInt, head h: UInt32, tail t: UInt32) -> [UInt]? {
        let s = storage
        let n = (t &- h) / 2
        guard n == s.capacity / 2 else { fatalError("run queue not full in overflow path: \(t &- h)") }
        var batch: [UInt] = []
        batch.reserveCapacity(Int(n) + 1)
        for i in 0..<n { batch.append(s.slots[Int((h &+ i) & s.mask)].load(ordering: .relaxed)) }
        if !s.headWord.pointee.compareExchange(expected: h, desired: h &+ n, ordering: .acquiringAndReleasing).exchanged {
            return nil
        }
        batch.append(entry)
        return batch
    }

    /// Takes runnext first, then the head of the ring.
    /// `inheritsTime` is true for runnext: it continues the current time slice.
    @inline(__always)
    func pop() -> (entry: UInt, inheritsTime: Bool)? {
        let s = storage
        var next = s.runnextWord.pointee.load(ordering: .relaxed)
        while next != 0 {
            let (exchanged, original) = s.runnextWord.pointee.compareExchange(
                expected: next, desired: 0, ordering: .acquiringAndReleasing)
            if exchanged { return (next, true) }
            next = original
        }
        while true {
            let h = s.headWord.pointee.load(ordering: .acquiring)
            let t = s.tailWord.pointee.load(ordering: .relaxed)
            if t == h { return nil }
            let entry = s.slots[Int(h & s.mask)].load(ordering: .relaxed)
            if s.headWord.pointee.compareExchange(expected: h, desired: h &+ 1, ordering: .acquiringAndReleasing).exchanged {
                return (entry, false)
            }
        }
    }

    /// Removes everything (used when a P is destroyed, and by tests).
    func drain() -> [UInt] {
        var out: [UInt] = []
        while let (entry, _) = pop() { out.append(entry) }
        return out
    }
}

/// Everyone else's handle: steal half into your own ring, or read the length.
struct RunQueueStealer {
    fileprivate let storage: RunQueueStorage

    @inline(__always)
    fileprivate init(storage: RunQueueStorage) { self.storage = storage }

    var capacity: UInt32 { storage.capacity }

    /// Number of entries, racy by nature (for schedtrace and heuristics).
    @inline(__always) var count: Int { storage.count }

    /// True when both the ring and runnext look empty. Used by the spinning
    /// dance, where a false "non-empty" only costs a retry.
    @inline(__always) var isEmpty: Bool { storage.isEmpty }

    /// Steals half of this (the victim's) queue into `thief`, the caller's own
    /// ring: returns one entry to run now and leaves the rest published in the
    /// thief's ring. Go's runqsteal. The thief's ring must have room for half of
    /// the victim's capacity (the runtime steals only into an empty ring).
    @inline(__always)
    func steal(into thief: borrowing RunQueueOwner, stealRunnext: Bool) -> (entry: UInt, count: Int)? {
        let mine = thief.storage
        precondition(storage.capacity <= mine.capacity, "steal from a larger queue could overflow")
        let t = mine.tailWord.pointee.load(ordering: .relaxed)
        var n = grab(into: mine, stealRunnext: stealRunnext)
        if n == 0 { return nil }
        let stolen = Int(n)
        n -= 1
        let entry = mine.slots[Int((t &+ n) & mine.mask)].load(ordering: .relaxed)
        if n == 0 { return (entry, stolen) }
        let h = mine.headWord.pointee.load(ordering: .acquiring)
        guard t &- h &+ n < mine.capacity else { fatalError("stolen batch overflows the thief's queue") }
        mine.tailWord.pointee.store(t &+ n, ordering: .releasing)
        return (entry, stolen)
    }

    /// Copies half of the victim's entries into the thief's ring beyond its tail
    /// without publishing them, and returns how many were grabbed. Go's runqgrab.
    private func grab(into thief: RunQueueStorage, stealRunnext: Bool) -> UInt32 {
        let s = storage
        let thiefTail = thief.tailWord.pointee.load(ordering: .relaxed)
        while true {
            let h = s.headWord.pointee.load(ordering: .acquiring)
            let t = s.tailWord.pointee.load(ordering: .acquiring)
            var n = t &- h
            n = n &- n / 2
            if n == 0 {
                if stealRunnext {
                    let next = s.runnextWord.pointee.load(ordering: .acquiring)
                    if next != 0 {
                        if s.runnextWord.pointee.compareExchange(expected: next, desired: 0, ordering: .acquiringAndReleasing).exchanged {
                            thief.slots[Int(thiefTail & thief.mask)].store(next, ordering: .relaxed)
                            return 1
                        }
                        continue
                    }
                }
                return 0
            }
            if n > s.capacity / 2 { continue }  // head and tail read inconsistently: retry
            for i in 0..<n {
                let entry = s.slots[Int((h &+ i) & s.mask)].load(ordering: .relaxed)
                thief.slots[Int((thiefTail &+ i) & thief.mask)].store(entry, ordering: .relaxed)
            }
            if s.headWord.pointee.compareExchange(expected: h, desired: h &+ n, ordering: .acquiringAndReleasing).exchanged {
                return n
            }
        }
    }
}
