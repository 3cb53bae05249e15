// The run queue's memory-ordering argument, checked: an exhaustive model
// checker (MemoryModel.swift) runs a port of RunQueueOwner (RunQueuePort.swift)
// on tiny programs (RunQueueScenarios.swift) under a C11 release/acquire/relaxed
// model, so orderings that only matter on weakly ordered hardware are tested on
// x86 too. Run: swift test --skip-build --filter RunQueueModelTests
import Foundation
import XCTest

final class RunQueueModelTests: XCTestCase {
    // MARK: the port is tied to the source

    /// Atomic accesses of RunQueueOwner that the port does not model (racy
    /// heuristics), pinned here so that any change to them is noticed.
    static let unmodelled: [(function: String, access: String, order: MemOrder)] = [
        ("count", "headWord.load", .acquiring),
        ("count", "tailWord.load", .acquiring),
        ("count", "headWord.load", .acquiring),
        ("count", "runnextWord.load", .relaxed),
        ("isEmpty", "headWord.load", .acquiring),
        ("isEmpty", "tailWord.load", .acquiring),
        ("isEmpty", "runnextWord.load", .acquiring),
        ("isEmpty", "tailWord.load", .acquiring),
    ]

    static func runQueueSourceURL() throws -> URL {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("Sources/Timeslice")
        let preferred = dir.appendingPathComponent("RunQueue.swift")
        if FileManager.default.fileExists(atPath: preferred.path) { return preferred }
        // The file may be renamed or moved: find the one that defines the type.
        let walker = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            if url.pathExtension == "swift", let text = try? String(contentsOf: url, encoding: .utf8), text.contains("struct RunQueueOwner") { return url }
        }
        throw NSError(domain: "RunQueueModel", code: 1, userInfo: [NSLocalizedDescriptionKey: "no file under \(dir.path) defines struct RunQueueOwner"])
    }

    struct SourceAccess: Equatable, CustomStringConvertible {
        let function: String
        let access: String
        let order: String
        var description: String { "\(function): \(access)(ordering: .\(order))" }
    }

    /// Every atomic access in the text, in source order, with the member it is in.
    static func atomicAccesses(in text: String) throws -> [SourceAccess] {
        let ns = text as NSString
        let whole = NSRange(location: 0, length: ns.length)
        let decl = try NSRegularExpression(
            pattern: #"^    (?:(?:private|fileprivate|internal|public|mutating|static|@inline\(__always\))\s+)*(?:func\s+(\w+)|var\s+(\w+)\s*:|(init)\s*\()"#,
            options: [.anchorsMatchLines])
        let access = try NSRegularExpression(
            pattern: #"\b((?:thief\.|victim\.)?(?:headWord|tailWord|runnextWord|slots))(?:\.pointee|\[[^\]\n]*\])?\.(load|store|exchange|compareExchange)\("#)
        let anyAtomicCall = try NSRegularExpression(
            pattern: #"\.(load|store|exchange|compareExchange|weakCompareExchange|add|subtract|wrappingAdd|wrappingSubtract|bitwiseAnd|bitwiseOr|bitwiseXor|min|max)\("#)
        let ordering = try NSRegularExpression(pattern: #"\b(\w*[oO]rdering):\s*\.(\w+)"#)

        let decls = decl.matches(in: text, range: whole)
        var out: [SourceAccess] = []
        for (k, d) in decls.enumerated() {
            let name = (1...3).compactMap { i -> String? in
                let r = d.range(at: i)
                return r.location == NSNotFound ? nil : ns.substring(with: r)
            }.first!
            let end = k + 1 < decls.count ? decls[k + 1].range.location : ns.length
            let body = NSRange(location: d.range.location, length: end - d.range.location)
            let found = access.matches(in: text, range: body)
            let all = anyAtomicCall.matches(in: text, range: body)
            if all.count != found.count {
                let odd = all.map { ns.substring(with: $0.range) }
                throw NSError(domain: "RunQueueModel", code: 2, userInfo: [NSLocalizedDescriptionKey:
                    "\(name): \(all.count) atomic-looking calls \(odd) but \(found.count) recognised accesses; teach the model about the new one"])
            }
            for (j, m) in found.enumerated() {
                let stop = j + 1 < found.count ? found[j + 1].range.location : end
                let tailRange = NSRange(location: m.range.location + m.range.length, length: stop - m.range.location - m.range.length)
                let orderings = ordering.matches(in: text, range: tailRange)
                guard orderings.count == 1, ns.substring(with: orderings[0].range(at: 1)) == "ordering" else {
                    throw NSError(domain: "RunQueueModel", code: 3, userInfo: [NSLocalizedDescriptionKey:
                        "\(name): \(ns.substring(with: m.range)) must have exactly one `ordering:` argument"])
                }
                out.append(SourceAccess(
                    function: name,
                    access: ns.substring(with: m.range(at: 1)) + "." + ns.substring(with: m.range(at: 2)),
                    order: ns.substring(with: orderings[0].range(at: 2))))
            }
        }
        return out
    }

    /// What the source must contain given an orderings table (source order
    /// within each function; functions compared as sets of sequences).
    static func expectedAccesses(_ table: RunQueueOrderings) -> [SourceAccess] {
        RunQueueSite.allCases.map { SourceAccess(function: $0.source.function, access: $0.source.access, order: table[$0]!.rawValue) }
            + unmodelled.map { SourceAccess(function: $0.function, access: $0.access, order: $0.order.rawValue) }
    }

    static func grouped(_ a: [SourceAccess]) -> [String: [SourceAccess]] {
        Dictionary(grouping: a, by: \.function)
    }

    func testPortOrderingsMatchTheSource() throws {
        let url = try Self.runQueueSourceURL()
        let actual = Self.grouped(try Self.atomicAccesses(in: String(contentsOf: url, encoding: .utf8)))
        let expected = Self.grouped(Self.expectedAccesses(RunQueuePort.production))
        XCTAssertEqual(actual.values.map(\.count).reduce(0, +), RunQueueSite.allCases.count + Self.unmodelled.count)
        for function in Set(actual.keys).union(expected.keys).sorted() {
            XCTAssertEqual(actual[function] ?? [], expected[function] ?? [],
                           "\(url.lastPathComponent), \(function): atomic accesses differ from RunQueuePort.production / unmodelled list")
        }
    }

    /// The parser itself: a weakened tail store is seen (so the test above has teeth).
    func testSourceParserSeesAWeakenedOrdering() throws {
        let text = try String(contentsOf: Self.runQueueSourceURL(), encoding: .utf8)
        let original = "tailWord.pointee.store(t &+ 1, ordering: .releasing)"
        XCTAssertTrue(text.contains(original))
        let mutated = text.replacingOccurrences(of: original, with: "tailWord.pointee.store(t &+ 1, ordering: .relaxed)")
        let actual = Self.grouped(try Self.atomicAccesses(in: mutated))
        XCTAssertNotEqual(actual["push"], Self.grouped(Self.expectedAccesses(RunQueuePort.production))["push"])
        XCTAssertEqual(actual["push"], Self.grouped(Self.expectedAccesses(RunQueuePort.production.with(.pushTailStore, .relaxed)))["push"])
    }

    // MARK: the memory model on litmus tests

    /// Message passing: data then flag; the reader sees the flag, then reads data.
    static func messagePassing(_ store: MemOrder, _ load: MemOrder) -> ModelReport {
        var p = ModelProgram()
        let data = p.location("data"), flag = p.location("flag")
        p.threads = [
            { ctx in try ctx.store(data, 1, .relaxed); try ctx.store(flag, 1, store); return [] },
            { ctx in
                if try ctx.load(flag, load) == 1 {
                    try ctx.check(try ctx.load(data, .relaxed) == 1, "flag set but data stale")
                }
                return []
            },
        ]
        return ModelChecker(p).run()
    }

    func testLitmusMessagePassing() {
        XCTAssertNil(Self.messagePassing(.releasing, .acquiring).violation)
        XCTAssertNil(Self.messagePassing(.sequentiallyConsistent, .sequentiallyConsistent).violation)
        XCTAssertNotNil(Self.messagePassing(.relaxed, .acquiring).violation)
        XCTAssertNotNil(Self.messagePassing(.releasing, .relaxed).violation)
        let ok = Self.messagePassing(.releasing, .acquiring)
        // Distinct final states: flag unseen (data not read), or flag and data 1.
        XCTAssertEqual(ok.executions, 2)
    }

    /// Coherence of reads (CoRR): once a thread has seen the second store it never sees the first again.
    func testLitmusReadReadCoherence() {
        var p = ModelProgram()
        let x = p.location("x")
        p.threads = [
            { ctx in try ctx.store(x, 1, .relaxed); try ctx.store(x, 2, .relaxed); return [] },
            { ctx in
                let a = try ctx.load(x, .relaxed), b = try ctx.load(x, .relaxed)
                try ctx.check(!(a == 2 && b == 1), "coherence violated")
                return [a, b]
            },
        ]
        let r = ModelChecker(p).run()
        XCTAssertNil(r.violation, "\(r)")
        // Relaxed reads can be stale: (0,0) (0,1) (0,2) (1,1) (1,2) (2,2) all appear.
        XCTAssertEqual(r.executions, 6)
    }

    /// Release sequence through an RMW: an acquire that reads a relaxed RMW
    /// after a release store still synchronizes with that store.
    func testLitmusReleaseSequenceThroughRMW() {
        var p = ModelProgram()
        let data = p.location("data"), flag = p.location("flag")
        p.threads = [
            { ctx in try ctx.store(data, 1, .relaxed); try ctx.store(flag, 1, .releasing); return [] },
            { ctx in _ = try ctx.compareExchange(flag, expected: 1, desired: 2, .relaxed); return [] },
            { ctx in
                if try ctx.load(flag, .acquiring) == 2 {
                    try ctx.check(try ctx.load(data, .relaxed) == 1, "release sequence broken")
                }
                return []
            },
        ]
        XCTAssertNil(ModelChecker(p).run().violation)
    }

    /// Hand-over: a store to a location another thread read and handed over
    /// (CAS) must happen after that read.
    func testHandOverNeedsHappensBefore() {
        func run(_ cas: MemOrder, _ load: MemOrder) -> ModelReport {
            var p = ModelProgram()
            let slot = p.location("slot", singleWriter: 0), head = p.location("head")
            p.threads = [
                { ctx in
                    if try ctx.load(head, load) == 1 { try ctx.store(slot, 7, .relaxed) }
                    return []
                },
                { ctx in
                    _ = try ctx.load(slot, .relaxed)
                    _ = try ctx.compareExchange(head, expected: 0, desired: 1, cas, handsOver: [slot])
                    return []
                },
            ]
            return ModelChecker(p).run()
        }
        XCTAssertNil(run(.releasing, .acquiring).violation)
        XCTAssertNotNil(run(.relaxed, .acquiring).violation)
        XCTAssertNotNil(run(.releasing, .relaxed).violation)
    }

    // MARK: the orderings hold

    static func check(_ scenario: RunQueueScenario, _ table: RunQueueOrderings) -> (ModelReport, Double) {
        let start = Date()
        let report = ModelChecker(scenario.build(table)).run()
        return (report, Date().timeIntervalSince(start))
    }

    func testProductionOrderingsHoldExhaustively() {
        var total = 0
        for scenario in RunQueueScenario.all + [.wide] {
            let (report, seconds) = Self.check(scenario, RunQueuePort.production)
            print("RunQueueModel \(scenario.name): \(report) in \(String(format: "%.2f", seconds)) s")
            XCTAssertNil(report.violation, "\(scenario.name): \(report)")
            XCTAssertGreaterThan(report.executions, 0)
            total += report.executions
        }
        print("RunQueueModel production orderings: \(total) complete executions, no violation")
    }

    // MARK: the checker has teeth

    struct Mutation {
        let name: String
        let table: RunQueueOrderings
        /// Scenarios (in RunQueueScenario.all order) whose exhaustive check
        /// finds a violation; empty if the weaker ordering is harmless within the
        /// model (asserted too, so a change in the model's power is noticed).
        let caughtBy: [String]
    }

    static let p = RunQueuePort.production
    static let mutations: [Mutation] = [
        Mutation(name: "every tail release/acquire -> relaxed",
                 table: p.with(.pushTailStore, .relaxed).with(.grabTailLoad, .relaxed).with(.stealTailStore, .relaxed),
                 caughtBy: ["runnext", "reuse", "twoThieves", "chain", "mixed"]),
        Mutation(name: "push: tail store .releasing -> .relaxed", table: p.with(.pushTailStore, .relaxed), caughtBy: ["runnext", "reuse", "twoThieves", "chain", "mixed"]),
        Mutation(name: "grab: tail load .acquiring -> .relaxed", table: p.with(.grabTailLoad, .relaxed), caughtBy: ["runnext", "reuse", "twoThieves", "chain", "mixed"]),
        Mutation(name: "steal: own tail store .releasing -> .relaxed", table: p.with(.stealTailStore, .relaxed), caughtBy: ["chain"]),
        Mutation(name: "push: head load .acquiring -> .relaxed", table: p.with(.pushHeadLoad, .relaxed), caughtBy: ["reuse", "twoThieves"]),
        Mutation(name: "grab: head CAS .acquiringAndReleasing -> .relaxed", table: p.with(.grabHeadCAS, .relaxed), caughtBy: ["reuse", "twoThieves"]),
        Mutation(name: "grab: head CAS .acquiringAndReleasing -> .acquiring", table: p.with(.grabHeadCAS, .acquiring), caughtBy: ["reuse", "twoThieves"]),
        Mutation(name: "push: runnext exchange .acquiringAndReleasing -> .relaxed", table: p.with(.pushRunnextExchange, .relaxed), caughtBy: ["runnext", "mixed"]),
        Mutation(name: "push: runnext exchange .acquiringAndReleasing -> .acquiring", table: p.with(.pushRunnextExchange, .acquiring), caughtBy: ["runnext", "mixed"]),
        // Harmless within the model: each is covered by another access (the
        // tail acquire publishes the slots, the acquiring runnext load before
        // the CAS, RMWs continuing release sequences on head), or only orders
        // accesses of the owner to its own writes. Asserted so that a change
        // in what the model can see is noticed.
        Mutation(name: "grab: head CAS .acquiringAndReleasing -> .releasing (Go: CasRel)", table: p.with(.grabHeadCAS, .releasing), caughtBy: []),
        Mutation(name: "grab: head load .acquiring -> .relaxed", table: p.with(.grabHeadLoad, .relaxed), caughtBy: []),
        Mutation(name: "pop: head load .acquiring -> .relaxed", table: p.with(.popHeadLoad, .relaxed), caughtBy: []),
        Mutation(name: "pop: head CAS .acquiringAndReleasing -> .relaxed", table: p.with(.popHeadCAS, .relaxed), caughtBy: []),
        Mutation(name: "overflow: head CAS .acquiringAndReleasing -> .relaxed", table: p.with(.overflowHeadCAS, .relaxed), caughtBy: []),
        Mutation(name: "grab: runnext load .acquiring and CAS .acquiringAndReleasing -> .relaxed",
                 table: p.with(.grabRunnextLoad, .relaxed).with(.grabRunnextCAS, .relaxed), caughtBy: ["runnext", "mixed"]),
        Mutation(name: "grab: runnext load .acquiring -> .relaxed", table: p.with(.grabRunnextLoad, .relaxed), caughtBy: []),
        Mutation(name: "grab: runnext CAS .acquiringAndReleasing -> .relaxed (the load before it acquires)", table: p.with(.grabRunnextCAS, .relaxed), caughtBy: []),
        Mutation(name: "pop: runnext CAS .acquiringAndReleasing -> .relaxed", table: p.with(.popRunnextCAS, .relaxed), caughtBy: []),
        Mutation(name: "steal: own head load .acquiring -> .relaxed", table: p.with(.stealHeadLoad, .relaxed), caughtBy: []),
    ]

    func testMutationsAreDetected() {
        var lines: [String] = []
        for m in Self.mutations {
            var caughtBy: [String] = []
            var first: String?
            var executions = 0
            for scenario in RunQueueScenario.all {
                let (report, _) = Self.check(scenario, m.table)
                executions += report.executions
                if let v = report.violation {
                    caughtBy.append(scenario.name)
                    if first == nil { first = "\(scenario.name): \(v)" }
                    if m.caughtBy.isEmpty { print("RunQueueModel unexpected violation for \(m.name):\n\(report)") }
                }
            }
            lines.append("\(m.name) | " + (first.map { "caught by \(caughtBy.joined(separator: ", ")); first: \($0)" }
                ?? "not caught (\(executions) complete executions)"))
            XCTAssertEqual(caughtBy, m.caughtBy, "\(m.name): scenarios that detect it")
        }
        print("RunQueueModel mutations:\n" + lines.joined(separator: "\n"))
    }
}
