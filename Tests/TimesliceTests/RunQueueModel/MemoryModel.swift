// A small exhaustive model checker for C11-style atomics, test-only.
//
// Memory model (operational, view-based, after the "promise-free" fragment of
// Kang et al.'s promising semantics / loom / CDSChecker):
//   - every location has a modification order (mo): the list of messages stored
//     to it, oldest first; message i carries a view (see below);
//   - every thread has a view: for each location, the index of the oldest
//     message it may still read (plus one "epoch" entry per thread, counting
//     that thread's events, used as a vector clock for happens-before);
//   - a load may read any message at or after the thread's view of the location
//     (relaxed loads of stale values come from here); it raises the view of that
//     location to the message read; an acquiring load also joins the message's
//     view into the thread's view;
//   - a releasing store's message carries the writer's whole view; a relaxed
//     store's message carries only its own position;
//   - an RMW (exchange, successful CAS) reads the newest message in mo and
//     appends after it; its message also carries the view of the message it read
//     (release sequences continue through RMWs);
//   - a failed CAS is a load (failure ordering) of any visible message whose
//     value differs from the expected one;
//   - sequentially consistent accesses additionally join a global SC view both
//     ways (stronger than C11 SC accesses; the run queue uses none).
// Stores are appended at the end of mo. That is complete for programs whose
// locations are each written either by a single thread or only by RMWs (true
// for the run queue: tail and slots by their owner, head and runnext by RMWs,
// apart from the initial message).
// What it does not model: load buffering (a load reading a store that is later
// in the execution order). Instead the port can ask for a happens-before check
// that rules it out where the algorithm depends on it: a CAS can "hand over"
// the reads a thread made before it, and any later store by another thread to
// such a location must happen-after the handed-over read (if it did not, a
// weaker machine could let the read see that store).
//
// Explorer: depth-first over interleavings and read choices, with a visited set
// of whole states (memory + thread views + each thread's replay log). Threads are
// ordinary Swift closures re-run from the start against a log of the results
// of their previous atomic operations (stateless replay): the op after the log
// throws `Yield`, the explorer performs it with every allowed outcome, appends
// the result and re-runs. Thread code must therefore be deterministic and talk
// to shared memory only through `ModelThread`.

enum MemOrder: String, Hashable, CaseIterable, CustomStringConvertible {
    case relaxed, acquiring, releasing, acquiringAndReleasing, sequentiallyConsistent

    var acquires: Bool { self == .acquiring || self == .acquiringAndReleasing || self == .sequentiallyConsistent }
    var releases: Bool { self == .releasing || self == .acquiringAndReleasing || self == .sequentiallyConsistent }
    var isSC: Bool { self == .sequentiallyConsistent }
    /// The failure ordering Swift's `compareExchange(expected:desired:ordering:)` derives.
    var casFailure: MemOrder {
        switch self {
        case .acquiringAndReleasing: return .acquiring
        case .releasing: return .relaxed
        default: return self
        }
    }
    var description: String { "." + rawValue }
}

struct ModelLocation: Hashable {
    let id: Int
    let name: String
    let initial: UInt
    /// When false, accesses are not scheduling points (the port promises that
    /// no other thread can observe the difference: thread-private storage, or a
    /// location written once before the write is published by something else).
    let schedulingPoint: Bool
    /// The only thread that ever stores here (nil: several or unknown). A load
    /// by that thread is invisible to others and is not a scheduling point.
    let singleWriter: Int?
}

struct ModelViolation: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Raised when a thread exceeds its retry budget: the execution is cut off (counted as pruned).
struct ModelPrune: Error {}

enum ModelOpKind: Hashable {
    case load
    case store(UInt)
    case exchange(UInt)
    case compareExchange(expected: UInt, desired: UInt, handsOver: [Int])
}

struct ModelOp: Hashable, CustomStringConvertible {
    let loc: Int
    let kind: ModelOpKind
    let order: MemOrder
    let label: String
    var description: String { label }
}

private struct Yield: Error { let op: ModelOp }

/// The API thread code uses. Results of earlier operations are replayed from the log.
final class ModelThread {
    let id: Int
    private let log: [UInt]
    private var index = 0
    private var retries = 0
    private let retryBudget: Int
    private let locations: [ModelLocation]

    fileprivate init(id: Int, log: [UInt], retryBudget: Int, locations: [ModelLocation]) {
        self.id = id
        self.log = log
        self.retryBudget = retryBudget
        self.locations = locations
    }

    private func perform(_ op: ModelOp) throws -> UInt {
        if index < log.count {
            index += 1
            return log[index - 1]
        }
        throw Yield(op: op)
    }

    func load(_ l: ModelLocation, _ order: MemOrder) throws -> UInt {
        try perform(ModelOp(loc: l.id, kind: .load, order: order, label: "\(l.name).load(\(order))"))
    }

    func store(_ l: ModelLocation, _ value: UInt, _ order: MemOrder) throws {
        _ = try perform(ModelOp(loc: l.id, kind: .store(value), order: order, label: "\(l.name).store(\(value), \(order))"))
    }

    func exchange(_ l: ModelLocation, _ value: UInt, _ order: MemOrder) throws -> UInt {
        try perform(ModelOp(loc: l.id, kind: .exchange(value), order: order, label: "\(l.name).exchange(\(value), \(order))"))
    }

    /// Strong CAS. On success, the reads this thread made of `handsOver` become
    /// "handed over": later stores to them by other threads must happen after them.
    func compareExchange(_ l: ModelLocation, expected: UInt, desired: UInt, _ order: MemOrder,
                         handsOver: [ModelLocation] = []) throws -> (exchanged: Bool, original: UInt) {
        let original = try perform(ModelOp(
            loc: l.id, kind: .compareExchange(expected: expected, desired: desired, handsOver: handsOver.map(\.id)),
            order: order, label: "\(l.name).compareExchange(\(expected), \(desired), \(order))"))
        return (original == expected, original)
    }

    /// A spin-loop iteration; executions that retry too often are pruned.
    func retry() throws {
        retries += 1
        if retries > retryBudget { throw ModelPrune() }
    }

    func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ModelViolation(message: "thread \(id): " + message()) }
    }
}

struct ModelMessage: Hashable {
    var value: UInt
    var view: [Int]
}

struct ModelThreadState: Hashable {
    var view: [Int]
    var log: [UInt] = []
    /// Epoch of this thread's last read of each location (for hand-over).
    var readEpoch: [Int]
    var pending: ModelOp?
    var result: [UInt]?
}

struct ModelState: Hashable {
    var memory: [[ModelMessage]]
    /// committed[loc][thread]: epoch of that thread's newest handed-over read of loc.
    var committed: [[Int]]
    var scView: [Int]
    var threads: [ModelThreadState]
}

/// What the final check sees once every thread has finished (threads joined).
struct ModelFinal {
    let state: ModelState
    func latest(_ l: ModelLocation) -> UInt { state.memory[l.id].last!.value }
    func result(_ thread: Int) -> [UInt] { state.threads[thread].result! }
}

struct ModelProgram {
    private(set) var locations: [ModelLocation] = []
    var threads: [(ModelThread) throws -> [UInt]] = []
    var finalCheck: (ModelFinal) -> String? = { _ in nil }
    var retryBudget = 2

    mutating func location(_ name: String, initial: UInt = 0, schedulingPoint: Bool = true,
                           singleWriter: Int? = nil) -> ModelLocation {
        let l = ModelLocation(id: locations.count, name: name, initial: initial,
                              schedulingPoint: schedulingPoint, singleWriter: singleWriter)
        locations.append(l)
        return l
    }
}

struct ModelReport: CustomStringConvertible {
    var states = 0
    var transitions = 0
    var executions = 0   // complete executions (distinct final states) checked
    var pruned = 0       // executions cut off by the retry budget
    var violation: String?
    var trace: [String] = []
    var description: String {
        "states \(states), transitions \(transitions), complete executions \(executions), pruned \(pruned)"
            + (violation.map { "\nVIOLATION: \($0)\ntrace:\n  " + trace.joined(separator: "\n  ") } ?? "")
    }
}

final class ModelChecker {
    private let program: ModelProgram
    private let nloc: Int
    private let width: Int
    private var visited = Set<ModelState>()
    private var report = ModelReport()
    private var path: [String] = []
    private let stateLimit: Int

    init(_ program: ModelProgram, stateLimit: Int = 5_000_000) {
        self.program = program
        nloc = program.locations.count
        width = nloc + program.threads.count
        self.stateLimit = stateLimit
    }

    func run() -> ModelReport {
        let zero = [Int](repeating: 0, count: width)
        var s = ModelState(
            memory: program.locations.map { [ModelMessage(value: $0.initial, view: zero)] },
            committed: [[Int]](repeating: [Int](repeating: 0, count: program.threads.count), count: nloc),
            scView: zero,
            threads: program.threads.indices.map { _ in
                ModelThreadState(view: zero, readEpoch: [Int](repeating: 0, count: nloc))
            })
        do {
            var starts: [(ModelState, [String])] = [(s, [])]
            for t in program.threads.indices {
                var next: [(ModelState, [String])] = []
                for (st, steps) in starts { next += try advance(st, t).map { ($0.0, steps + $0.1) } }
                starts = next
            }
            for (st, steps) in starts {
                s = st
                path = steps
                try explore(s)
            }
        } catch let v as ModelViolation {
            report.violation = v.message
            report.trace = path
        } catch {
            report.violation = "unexpected \(error)"
        }
        return report
    }

    private func explore(_ s: ModelState) throws {
        if visited.contains(s) { return }
        visited.insert(s)
        report.states += 1
        if report.states > stateLimit { throw ModelViolation(message: "state limit \(stateLimit) exceeded") }
        var anyRunnable = false
        for t in s.threads.indices where s.threads[t].pending != nil {
            anyRunnable = true
            let op = s.threads[t].pending!
            for (succ, what) in try outcomes(s, t, op) {
                report.transitions += 1
                path.append("T\(t): \(what)")
                for (next, steps) in try advance(succ, t) {
                    path += steps
                    try explore(next)
                    path.removeLast(steps.count)
                }
                path.removeLast()
            }
        }
        if !anyRunnable {
            if s.threads.contains(where: { $0.result == nil }) {
                report.pruned += 1
                return
            }
            report.executions += 1
            if let problem = program.finalCheck(ModelFinal(state: s)) {
                throw ModelViolation(message: "final state: " + problem)
            }
        }
    }

    /// Re-runs thread `t` against its log until it yields an op or finishes; ops
    /// that are not scheduling points are performed right away (with every outcome).
    private func advance(_ s: ModelState, _ t: Int) throws -> [(ModelState, [String])] {
        var s = s
        let ctx = ModelThread(id: t, log: s.threads[t].log, retryBudget: program.retryBudget, locations: program.locations)
        do {
            s.threads[t].result = try program.threads[t](ctx)
            s.threads[t].pending = nil
            return [(s, [])]
        } catch let y as Yield {
            s.threads[t].pending = y.op
            let l = program.locations[y.op.loc]
            let invisible = !l.schedulingPoint || (y.op.kind == .load && l.singleWriter == t)
            if !invisible { return [(s, [])] }
            var out: [(ModelState, [String])] = []
            for (succ, what) in try outcomes(s, t, y.op) {
                path.append("T\(t): \(what)")   // kept in the trace if this throws
                out += try advance(succ, t).map { ($0.0, ["T\(t): \(what)"] + $0.1) }
                path.removeLast()
            }
            return out
        } catch is ModelPrune {
            s.threads[t].pending = nil   // stuck: never finishes; counted as pruned at the end
            return [(s, [])]
        } catch let v as ModelViolation {
            throw v
        }
    }

    private func join(_ a: inout [Int], _ b: [Int]) {
        for i in a.indices where b[i] > a[i] { a[i] = b[i] }
    }

    /// Every allowed result of `op` by thread `t`, with the state after it.
    private func outcomes(_ s: ModelState, _ t: Int, _ op: ModelOp) throws -> [(ModelState, String)] {
        let loc = op.loc
        var base = s
        base.threads[t].view[nloc + t] += 1   // a new event of thread t
        let epoch = base.threads[t].view[nloc + t]
        if op.order.isSC { join(&base.threads[t].view, s.scView) }
        let history = s.memory[loc]
        var result: [(ModelState, String)] = []

        func read(_ st: inout ModelState, _ index: Int, _ order: MemOrder) {
            let m = st.memory[loc][index]
            if st.threads[t].view[loc] < index { st.threads[t].view[loc] = index }
            if order.acquires { join(&st.threads[t].view, m.view) }
            st.threads[t].readEpoch[loc] = epoch
        }
        func write(_ st: inout ModelState, _ value: UInt, _ order: MemOrder, inherited: [Int]?) throws {
            let index = st.memory[loc].count
            st.threads[t].view[loc] = index
            var mview: [Int]
            if order.releases {
                mview = st.threads[t].view
            } else {
                mview = [Int](repeating: 0, count: width)
                mview[loc] = index
            }
            if let inherited { join(&mview, inherited) }
            st.memory[loc].append(ModelMessage(value: value, view: mview))
            for u in st.committed[loc].indices where u != t && st.committed[loc][u] > st.threads[t].view[nloc + u] {
                throw ModelViolation(message:
                    "thread \(t) stores \(value) to \(program.locations[loc].name) without happening after thread \(u)'s handed-over read of it (load buffering could let that read see this store)")
            }
        }
        func finish(_ st: inout ModelState, _ value: UInt, _ text: String) {
            if op.order.isSC { join(&st.scView, st.threads[t].view) }
            st.threads[t].log.append(value)
            st.threads[t].pending = nil
            result.append((st, text))
        }
        let lowest = max(s.threads[t].view[loc], op.order.isSC ? s.scView[loc] : 0)

        switch op.kind {
        case .load:
            for i in lowest..<history.count {
                var st = base
                read(&st, i, op.order)
                finish(&st, history[i].value, "\(op) -> \(history[i].value) (msg \(i) of \(history.count))")
            }
        case .store(let v):
            var st = base
            try write(&st, v, op.order, inherited: nil)
            finish(&st, 0, "\(op)")
        case .exchange(let v):
            var st = base
            let last = history.count - 1
            read(&st, last, op.order)
            try write(&st, v, op.order, inherited: history[last].view)
            finish(&st, history[last].value, "\(op) -> \(history[last].value)")
        case .compareExchange(let expected, let desired, let handsOver):
            let last = history.count - 1
            if history[last].value == expected {
                var st = base
                read(&st, last, op.order)
                try write(&st, desired, op.order, inherited: history[last].view)
                for h in handsOver where st.threads[t].readEpoch[h] > st.committed[h][t] {
                    st.committed[h][t] = st.threads[t].readEpoch[h]
                }
                finish(&st, expected, "\(op) -> exchanged")
            }
            for i in lowest..<history.count where history[i].value != expected {
                var st = base
                read(&st, i, op.order.casFailure)
                finish(&st, history[i].value, "\(op) -> failed, saw \(history[i].value) (msg \(i) of \(history.count))")
            }
        }
        return result
    }
}
