// A port of RunQueueOwner (Sources/Timeslice/RunQueue.swift) to the model
// checker's API, at tiny capacity. Same operations, same control flow, same
// orderings; the only additions are `ctx.retry()` on every loop back-edge (the
// model bounds spinning) and `ctx.check` where the real code calls fatalError.
//
// Every atomic access of the real file is one `RunQueueSite`; its ordering
// lives in `RunQueuePort.production`, one line per site, so a mutation is one
// line. RunQueueModelTests.testPortOrderingsMatchTheSource reads the real file
// and checks that each function's atomic accesses, in order, use exactly the
// orderings in this table.

enum RunQueueSite: String, CaseIterable {
    // push
    case pushRunnextExchange, pushHeadLoad, pushTailLoad, pushSlotStore, pushTailStore
    // takeHalfForOverflow
    case overflowSlotLoad, overflowHeadCAS
    // pop
    case popRunnextLoad, popRunnextCAS, popHeadLoad, popTailLoad, popSlotLoad, popHeadCAS
    // grab (thief side, running on the victim's queue)
    case grabThiefTailLoad, grabHeadLoad, grabTailLoad, grabRunnextLoad, grabRunnextCAS,
         grabThiefSlotStoreRunnext, grabSlotLoad, grabThiefSlotStore, grabHeadCAS
    // steal (thief side, on the thief's own queue)
    case stealTailLoad, stealSlotLoad, stealHeadLoad, stealTailStore

    /// The function of RunQueueOwner the access is in, and the access as it is
    /// spelled there (receiver without `.pointee` / subscript, then the method).
    /// Within a function, sites are listed in source order.
    var source: (function: String, access: String) {
        switch self {
        case .pushRunnextExchange: return ("push", "runnextWord.exchange")
        case .pushHeadLoad: return ("push", "headWord.load")
        case .pushTailLoad: return ("push", "tailWord.load")
        case .pushSlotStore: return ("push", "slots.store")
        case .pushTailStore: return ("push", "tailWord.store")
        case .overflowSlotLoad: return ("takeHalfForOverflow", "slots.load")
        case .overflowHeadCAS: return ("takeHalfForOverflow", "headWord.compareExchange")
        case .popRunnextLoad: return ("pop", "runnextWord.load")
        case .popRunnextCAS: return ("pop", "runnextWord.compareExchange")
        case .popHeadLoad: return ("pop", "headWord.load")
        case .popTailLoad: return ("pop", "tailWord.load")
        case .popSlotLoad: return ("pop", "slots.load")
        case .popHeadCAS: return ("pop", "headWord.compareExchange")
        case .grabThiefTailLoad: return ("grab", "thief.tailWord.load")
        case .grabHeadLoad: return ("grab", "headWord.load")
        case .grabTailLoad: return ("grab", "tailWord.load")
        case .grabRunnextLoad: return ("grab", "runnextWord.load")
        case .grabRunnextCAS: return ("grab", "runnextWord.compareExchange")
        case .grabThiefSlotStoreRunnext: return ("grab", "thief.slots.store")
        case .grabSlotLoad: return ("grab", "slots.load")
        case .grabThiefSlotStore: return ("grab", "thief.slots.store")
        case .grabHeadCAS: return ("grab", "headWord.compareExchange")
        case .stealTailLoad: return ("steal", "tailWord.load")
        case .stealSlotLoad: return ("steal", "slots.load")
        case .stealHeadLoad: return ("steal", "headWord.load")
        case .stealTailStore: return ("steal", "tailWord.store")
        }
    }
}

typealias RunQueueOrderings = [RunQueueSite: MemOrder]

extension Dictionary where Key == RunQueueSite, Value == MemOrder {
    func with(_ site: RunQueueSite, _ order: MemOrder) -> RunQueueOrderings {
        var copy = self
        copy[site] = order
        return copy
    }
}

extension RunQueuePort {
    /// The orderings of Sources/Timeslice/RunQueue.swift, one line per access site.
    static let production: RunQueueOrderings = [
        .pushRunnextExchange: .acquiringAndReleasing,
        .pushHeadLoad: .acquiring,
        .pushTailLoad: .relaxed,
        .pushSlotStore: .relaxed,
        .pushTailStore: .releasing,
        .overflowSlotLoad: .relaxed,
        .overflowHeadCAS: .acquiringAndReleasing,
        .popRunnextLoad: .relaxed,
        .popRunnextCAS: .acquiringAndReleasing,
        .popHeadLoad: .acquiring,
        .popTailLoad: .relaxed,
        .popSlotLoad: .relaxed,
        .popHeadCAS: .acquiringAndReleasing,
        .grabThiefTailLoad: .relaxed,
        .grabHeadLoad: .acquiring,
        .grabTailLoad: .acquiring,
        .grabRunnextLoad: .acquiring,
        .grabRunnextCAS: .acquiringAndReleasing,
        .grabThiefSlotStoreRunnext: .relaxed,
        .grabSlotLoad: .relaxed,
        .grabThiefSlotStore: .relaxed,
        .grabHeadCAS: .acquiringAndReleasing,
        .stealTailLoad: .relaxed,
        .stealSlotLoad: .relaxed,
        .stealHeadLoad: .acquiring,
        .stealTailStore: .releasing,
    ]
}

/// One RunQueueOwner's storage as model locations.
struct ModelRunQueue {
    let name: String
    let capacity: UInt32
    let mask: UInt32
    let head: ModelLocation
    let tail: ModelLocation
    let runnext: ModelLocation
    let slots: [ModelLocation]

    /// `owner` is the thread that pushes/pops (and stores tail and slots).
    /// `shared: false` declares that no other thread touches this queue, so its
    /// accesses need not be scheduling points.
    init(_ name: String, capacity: Int, owner: Int, shared: Bool, in program: inout ModelProgram) {
        self.name = name
        self.capacity = UInt32(capacity)
        mask = UInt32(capacity - 1)
        head = program.location("\(name).head", schedulingPoint: shared)
        tail = program.location("\(name).tail", schedulingPoint: shared, singleWriter: owner)
        runnext = program.location("\(name).runnext", schedulingPoint: shared)
        slots = (0..<capacity).map {
            program.location("\(name).slot[\($0)]", schedulingPoint: shared, singleWriter: owner)
        }
    }

    /// Entries left in the ring and runnext, read from the final state.
    func contents(_ f: ModelFinal) -> (entries: [UInt], length: UInt32) {
        let h = UInt32(f.latest(head)), t = UInt32(f.latest(tail))
        var out: [UInt] = []
        var i = h
        while i != t && t &- i <= capacity {
            out.append(f.latest(slots[Int(i & mask)]))
            i &+= 1
        }
        let next = f.latest(runnext)
        if next != 0 { out.append(next) }
        return (out, t &- h)
    }
}

/// RunQueueOwner's operations, executed by the thread `ctx` with orderings `o`.
struct RunQueuePort {
    let ctx: ModelThread
    let o: RunQueueOrderings

    private func order(_ site: RunQueueSite) -> MemOrder { o[site]! }

    func push(_ q: ModelRunQueue, _ entry: UInt, next: Bool) throws -> [UInt]? {
        var entry = entry
        if next {
            let old = try ctx.exchange(q.runnext, entry, order(.pushRunnextExchange))
            if old == 0 { return nil }
            entry = old
        }
        while true {
            let h = UInt32(try ctx.load(q.head, order(.pushHeadLoad)))
            let t = UInt32(try ctx.load(q.tail, order(.pushTailLoad)))
            if t &- h < q.capacity {
                try ctx.store(q.slots[Int(t & q.mask)], entry, order(.pushSlotStore))
                try ctx.store(q.tail, UInt(t &+ 1), order(.pushTailStore))
                return nil
            }
            if let batch = try takeHalfForOverflow(q, entry, head: h, tail: t) { return batch }
            try ctx.retry()
        }
    }

    private func takeHalfForOverflow(_ q: ModelRunQueue, _ entry: UInt, head h: UInt32, tail t: UInt32) throws -> [UInt]? {
        let n = (t &- h) / 2
        try ctx.check(n == q.capacity / 2, "run queue not full in overflow path: \(t &- h)")
        var batch: [UInt] = []
        var read: [ModelLocation] = []
        for i in 0..<n {
            let slot = q.slots[Int((h &+ i) & q.mask)]
            batch.append(try ctx.load(slot, order(.overflowSlotLoad)))
            read.append(slot)
        }
        if !(try ctx.compareExchange(q.head, expected: UInt(h), desired: UInt(h &+ n), order(.overflowHeadCAS), handsOver: read).exchanged) {
            return nil
        }
        batch.append(entry)
        return batch
    }

    func pop(_ q: ModelRunQueue) throws -> (entry: UInt, inheritsTime: Bool)? {
        var next = try ctx.load(q.runnext, order(.popRunnextLoad))
        while next != 0 {
            let (exchanged, original) = try ctx.compareExchange(q.runnext, expected: next, desired: 0, order(.popRunnextCAS))
            if exchanged { return (next, true) }
            next = original
            try ctx.retry()
        }
        while true {
            let h = UInt32(try ctx.load(q.head, order(.popHeadLoad)))
            let t = UInt32(try ctx.load(q.tail, order(.popTailLoad)))
            if t == h { return nil }
            let slot = q.slots[Int(h & q.mask)]
            let entry = try ctx.load(slot, order(.popSlotLoad))
            if try ctx.compareExchange(q.head, expected: UInt(h), desired: UInt(h &+ 1), order(.popHeadCAS), handsOver: [slot]).exchanged {
                return (entry, false)
            }
            try ctx.retry()
        }
    }

    /// Runs on the victim `q`, copying into `thief`'s ring. Go's runqgrab.
    private func grab(_ q: ModelRunQueue, into thief: ModelRunQueue, stealRunnext: Bool) throws -> UInt32 {
        let thiefTail = UInt32(try ctx.load(thief.tail, order(.grabThiefTailLoad)))
        while true {
            let h = UInt32(try ctx.load(q.head, order(.grabHeadLoad)))
            let t = UInt32(try ctx.load(q.tail, order(.grabTailLoad)))
            var n = t &- h
            n = n &- n / 2
            if n == 0 {
                if stealRunnext {
                    let next = try ctx.load(q.runnext, order(.grabRunnextLoad))
                    if next != 0 {
                        if try ctx.compareExchange(q.runnext, expected: next, desired: 0, order(.grabRunnextCAS)).exchanged {
                            try ctx.store(thief.slots[Int(thiefTail & thief.mask)], next, order(.grabThiefSlotStoreRunnext))
                            return 1
                        }
                        try ctx.retry()
                        continue
                    }
                }
                return 0
            }
            if n > q.capacity / 2 { try ctx.retry(); continue }  // head and tail read inconsistently: retry
            var read: [ModelLocation] = []
            for i in 0..<n {
                let slot = q.slots[Int((h &+ i) & q.mask)]
                let entry = try ctx.load(slot, order(.grabSlotLoad))
                read.append(slot)
                try ctx.store(thief.slots[Int((thiefTail &+ i) & thief.mask)], entry, order(.grabThiefSlotStore))
            }
            if try ctx.compareExchange(q.head, expected: UInt(h), desired: UInt(h &+ n), order(.grabHeadCAS), handsOver: read).exchanged {
                return n
            }
            try ctx.retry()
        }
    }

    /// Called by the owner of `q` (the thief): steals half of `victim`'s queue.
    func steal(_ q: ModelRunQueue, from victim: ModelRunQueue, stealRunnext: Bool) throws -> (entry: UInt, count: Int)? {
        try ctx.check(victim.capacity <= q.capacity, "steal from a larger queue could overflow")
        let t = UInt32(try ctx.load(q.tail, order(.stealTailLoad)))
        var n = try grab(victim, into: q, stealRunnext: stealRunnext)
        if n == 0 { return nil }
        let stolen = Int(n)
        n -= 1
        let entry = try ctx.load(q.slots[Int((t &+ n) & q.mask)], order(.stealSlotLoad))
        if n == 0 { return (entry, stolen) }
        let h = UInt32(try ctx.load(q.head, order(.stealHeadLoad)))
        try ctx.check(t &- h &+ n < q.capacity, "stolen batch overflows the thief's queue")
        try ctx.store(q.tail, UInt(t &+ n), order(.stealTailStore))
        return (entry, stolen)
    }
}
