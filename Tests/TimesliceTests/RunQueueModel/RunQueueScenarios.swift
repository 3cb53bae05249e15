// Tiny closed programs over the ported run queue, for the model checker.
//
// Every entry is a stand-in for a Goroutine pointer: before pushing entry x its
// producer writes x into the location "Gx.fields" (the G's contents); whoever
// obtains x from a run queue reads Gx.fields and must see x, not the initial 0
// (the run queue must publish what the pointer points to, as the runtime runs
// the G it got). Final check: every pushed entry is obtained (popped, stolen,
// moved to the global queue by overflow) or still queued exactly once, never 0,
// and queue lengths stay within capacity.

struct RunQueueScenario {
    let name: String
    let build: (RunQueueOrderings) -> ModelProgram

    /// The scenarios, cheapest first.
    static let all: [RunQueueScenario] = [runnext, reuse, twoThieves, chain, mixed]

    /// Owner pushes 1 and 2 with `next` (2 kicks 1 into the ring) and pops;
    /// a thief steals with stealRunnext. Cap 2.
    static let runnext = RunQueueScenario(name: "runnext") { o in
        var p = ModelProgram()
        let q0 = ModelRunQueue("q0", capacity: 2, owner: 0, shared: true, in: &p)
        let q1 = ModelRunQueue("q1", capacity: 2, owner: 1, shared: false, in: &p)
        let g = Entries(count: 2, producer: 0, in: &p)
        p.threads = [
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                var got: [UInt] = []
                for x: UInt in [1, 2] { got += try g.produce(ctx, rq, q0, x, next: true) }
                if let (e, _) = try rq.pop(q0) { got.append(try g.consume(ctx, e)) }
                return got
            },
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                guard let (e, _) = try rq.steal(q1, from: q0, stealRunnext: true) else { return [] }
                return [try g.consume(ctx, e)]
            },
        ]
        p.finalCheck = { f in g.account(f, queues: [q0, q1]) }
        return p
    }

    /// Owner pushes 1, 2, pops, pushes 3 and 4 (slot reuse, maybe overflow);
    /// one thief steals. Cap 2.
    static let reuse = RunQueueScenario(name: "reuse") { o in
        var p = ModelProgram()
        let q0 = ModelRunQueue("q0", capacity: 2, owner: 0, shared: true, in: &p)
        let q1 = ModelRunQueue("q1", capacity: 2, owner: 1, shared: false, in: &p)
        let g = Entries(count: 4, producer: 0, in: &p)
        p.threads = [
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                var got: [UInt] = []
                for x: UInt in [1, 2] { got += try g.produce(ctx, rq, q0, x) }
                if let (e, _) = try rq.pop(q0) { got.append(try g.consume(ctx, e)) }
                for x: UInt in [3, 4] { got += try g.produce(ctx, rq, q0, x) }
                return got
            },
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                guard let (e, _) = try rq.steal(q1, from: q0, stealRunnext: false) else { return [] }
                return [try g.consume(ctx, e)]
            },
        ]
        p.finalCheck = { f in g.account(f, queues: [q0, q1]) }
        return p
    }

    /// Owner pushes 1, 2, 3 (the third may overflow); two thieves steal. Cap 2.
    static let twoThieves = RunQueueScenario(name: "twoThieves") { o in
        var p = ModelProgram()
        let q0 = ModelRunQueue("q0", capacity: 2, owner: 0, shared: true, in: &p)
        let q1 = ModelRunQueue("q1", capacity: 2, owner: 1, shared: false, in: &p)
        let q2 = ModelRunQueue("q2", capacity: 2, owner: 2, shared: false, in: &p)
        let g = Entries(count: 3, producer: 0, in: &p)
        p.threads = [
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                var got: [UInt] = []
                for x: UInt in [1, 2, 3] { got += try g.produce(ctx, rq, q0, x) }
                return got
            },
        ]
        for q in [q1, q2] {
            p.threads.append { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                guard let (e, _) = try rq.steal(q, from: q0, stealRunnext: false) else { return [] }
                return [try g.consume(ctx, e)]
            }
        }
        p.finalCheck = { f in g.account(f, queues: [q0, q1, q2]) }
        return p
    }

    /// Owner pushes 1, 2, 3 into a cap-4 ring; thief 1 steals two of them (runs
    /// one, publishes the other in its own ring); thief 2 steals from thief 1.
    static let chain = RunQueueScenario(name: "chain") { o in
        var p = ModelProgram()
        let q0 = ModelRunQueue("q0", capacity: 4, owner: 0, shared: true, in: &p)
        let q1 = ModelRunQueue("q1", capacity: 4, owner: 1, shared: true, in: &p)
        let q2 = ModelRunQueue("q2", capacity: 4, owner: 2, shared: false, in: &p)
        let g = Entries(count: 3, producer: 0, in: &p)
        p.threads = [
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                var got: [UInt] = []
                for x: UInt in [1, 2, 3] { got += try g.produce(ctx, rq, q0, x) }
                return got
            },
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                guard let (e, _) = try rq.steal(q1, from: q0, stealRunnext: false) else { return [] }
                return [try g.consume(ctx, e)]
            },
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                guard let (e, _) = try rq.steal(q2, from: q1, stealRunnext: false) else { return [] }
                return [try g.consume(ctx, e)]
            },
        ]
        p.finalCheck = { f in g.account(f, queues: [q0, q1, q2]) }
        return p
    }
}

extension RunQueueScenario {
    /// Owner pushes 1, 2 (as runnext), 3 and pops; two thieves steal, both
    /// allowed to take runnext. Cap 2.
    static let mixed = RunQueueScenario(name: "mixed") { o in
        var p = ModelProgram()
        let q0 = ModelRunQueue("q0", capacity: 2, owner: 0, shared: true, in: &p)
        let q1 = ModelRunQueue("q1", capacity: 2, owner: 1, shared: false, in: &p)
        let q2 = ModelRunQueue("q2", capacity: 2, owner: 2, shared: false, in: &p)
        let g = Entries(count: 3, producer: 0, in: &p)
        p.threads = [
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                var got: [UInt] = []
                got += try g.produce(ctx, rq, q0, 1)
                got += try g.produce(ctx, rq, q0, 2, next: true)
                got += try g.produce(ctx, rq, q0, 3)
                if let (e, _) = try rq.pop(q0) { got.append(try g.consume(ctx, e)) }
                return got
            },
        ]
        for q in [q1, q2] {
            p.threads.append { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                guard let (e, _) = try rq.steal(q, from: q0, stealRunnext: true) else { return [] }
                return [try g.consume(ctx, e)]
            }
        }
        p.finalCheck = { f in g.account(f, queues: [q0, q1, q2]) }
        return p
    }
}

extension RunQueueScenario {
    /// Larger (production check only, not part of `all`): cap 4, owner pushes
    /// 1...5 (the fifth overflows unless a thief got in first) and pops; two
    /// thieves steal (half of up to four entries each).
    static let wide = RunQueueScenario(name: "wide") { o in
        var p = ModelProgram()
        let q0 = ModelRunQueue("q0", capacity: 4, owner: 0, shared: true, in: &p)
        let q1 = ModelRunQueue("q1", capacity: 4, owner: 1, shared: false, in: &p)
        let q2 = ModelRunQueue("q2", capacity: 4, owner: 2, shared: false, in: &p)
        let g = Entries(count: 5, producer: 0, in: &p)
        p.threads = [
            { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                var got: [UInt] = []
                for x: UInt in 1...5 { got += try g.produce(ctx, rq, q0, x) }
                if let (e, _) = try rq.pop(q0) { got.append(try g.consume(ctx, e)) }
                return got
            },
        ]
        for q in [q1, q2] {
            p.threads.append { ctx in
                let rq = RunQueuePort(ctx: ctx, o: o)
                guard let (e, _) = try rq.steal(q, from: q0, stealRunnext: false) else { return [] }
                return [try g.consume(ctx, e)]
            }
        }
        p.finalCheck = { f in g.account(f, queues: [q0, q1, q2]) }
        return p
    }
}

/// Entries 1...count and their "G fields" locations.
struct Entries {
    let count: Int
    let fields: [ModelLocation]   // fields[x - 1] belongs to entry x

    init(count: Int, producer: Int, in program: inout ModelProgram) {
        self.count = count
        // Written once by the producer before the entry is pushed, read only by
        // whoever obtained the entry: neither access needs to be a scheduling point.
        fields = (1...count).map { program.location("G\($0).fields", schedulingPoint: false, singleWriter: producer) }
    }

    /// Initializes G x, then pushes it. Returns what overflowed to the global queue.
    func produce(_ ctx: ModelThread, _ rq: RunQueuePort, _ q: ModelRunQueue, _ x: UInt, next: Bool = false) throws -> [UInt] {
        try ctx.store(fields[Int(x) - 1], x, .relaxed)
        return try rq.push(q, x, next: next) ?? []
    }

    /// Checks an entry obtained from a run queue and that its G's fields are visible.
    func consume(_ ctx: ModelThread, _ x: UInt) throws -> UInt {
        try ctx.check(x >= 1 && x <= UInt(count), "obtained garbage entry \(x)")
        let seen = try ctx.load(fields[Int(x) - 1], .relaxed)
        try ctx.check(seen == x, "runs G\(x) but sees its fields as \(seen) (stale: not published by the run queue)")
        return x
    }

    func account(_ f: ModelFinal, queues: [ModelRunQueue]) -> String? {
        var all: [UInt] = []
        for t in f.state.threads.indices { all += f.result(t) }
        for q in queues {
            let (entries, length) = q.contents(f)
            if length > q.capacity { return "\(q.name) length \(length) exceeds capacity \(q.capacity)" }
            all += entries
        }
        let expected = (1...count).map(UInt.init)
        if all.sorted() != expected {
            return "entries obtained or still queued: \(all.sorted()), expected each of \(expected) exactly once"
        }
        return nil
    }
}
