import XCTest
@testable import TimesliceLab
import TimesliceHost

final class MatrixExpansionTests: XCTestCase {
    func testCartesianProductInStableOrderWithReadableIds() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"max_procs": [1, 2], "preemption": ["cooperative", "async"], "time_slice": ["100us"]}"#))
        XCTAssertEqual(MatrixExpansion.expand(spec).map(\.id), [
            "rt=timeslice,procs=1,preempt=cooperative,slice=100us,place=none,lock=false",
            "rt=timeslice,procs=1,preempt=async,slice=100us,place=none,lock=false",
            "rt=timeslice,procs=2,preempt=cooperative,slice=100us,place=none,lock=false",
            "rt=timeslice,procs=2,preempt=async,slice=100us,place=none,lock=false",
        ])
    }

    func testExcludeRemovesMatchingPointsAndIncludeAddsNewOnes() throws {
        let spec = try Fixtures.spec(Fixtures.minimal("""
            "matrix": {"max_procs": [1, 2], "preemption": ["cooperative", "async"]},
            "exclude": [{"max_procs": 2, "preemption": "cooperative"}],
            "include": [{"preemption": "polling", "time_slice": "1ms"}, {"runtime": "threads", "placement": {"explicit": [0]}}]
            """))
        XCTAssertEqual(MatrixExpansion.expand(spec).map(\.id), [
            "rt=timeslice,procs=1,preempt=cooperative,slice=10ms,place=none,lock=false",
            "rt=timeslice,procs=1,preempt=async,slice=10ms,place=none,lock=false",
            "rt=timeslice,procs=2,preempt=async,slice=10ms,place=none,lock=false",
            // include entries start from the first point (procs=1, cooperative, 10ms, none).
            "rt=timeslice,procs=1,preempt=polling,slice=1ms,place=none,lock=false",
            "rt=threads,place=cpus0",
        ])
    }

    func testAxesThatDoNotApplyCollapseDuplicates() throws {
        // Threads ignore preemption and time slice: 2×2 timeslice points but one threads point.
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["timeslice", "threads"], "preemption": ["cooperative", "async"], "time_slice": ["1ms", "10ms"]}"#))
        let ids = MatrixExpansion.expand(spec).map(\.id)
        XCTAssertEqual(ids.count, 5)
        XCTAssertEqual(ids.last, "rt=threads,place=none")
        XCTAssertEqual(Set(ids).count, ids.count)
    }

    func testExcludeMatchesAxesBeforeNormalization() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"runtime": ["timeslice", "threads"], "preemption": ["cooperative", "async"]}, "exclude": [{"runtime": "threads", "preemption": "cooperative"}]"#))
        XCTAssertEqual(MatrixExpansion.expand(spec).map(\.id), [
            "rt=timeslice,procs=default,preempt=cooperative,slice=10ms,place=none,lock=false",
            "rt=timeslice,procs=default,preempt=async,slice=10ms,place=none,lock=false",
            "rt=threads,place=none",
        ])
    }

    func testOnlyFilterMatchesWholeFields() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""matrix": {"max_procs": [1, 12], "preemption": ["cooperative", "async"]}"#))
        let options = SweepOptions(only: "procs=1,preempt=async")
        XCTAssertEqual(MatrixExpansion.expand(spec).filter(options.selects).map(\.id),
                       ["rt=timeslice,procs=1,preempt=async,slice=10ms,place=none,lock=false"])
    }

    func testQuickShortensButKeepsTheStarvationTimeout() throws {
        let spec = try Fixtures.spec(Fixtures.minimal(#""repetitions": 5, "warmup": "2s""#, length: #""duration": "30s""#))
        let quick = SweepOptions(quick: true).apply(to: spec)
        XCTAssertEqual(quick.length, .duration(nanoseconds: 1_000_000_000))
        XCTAssertEqual(quick.warmupNanoseconds, 200_000_000)
        XCTAssertEqual(quick.repetitions, 1)
        XCTAssertEqual(quick.starvationTimeoutNanoseconds, spec.starvationTimeoutNanoseconds)
    }

    func testDurationTextRoundTrips() {
        for (text, ns) in [("50us", UInt64(50_000)), ("1ms", 1_000_000), ("10ms", 10_000_000), ("3s", 3_000_000_000), ("1500ns", 1_500), ("2m", 120_000_000_000)] {
            XCTAssertEqual(DurationText.parse(text), ns, text)
        }
        XCTAssertEqual(DurationText.parse("1.5ms"), 1_500_000)
        XCTAssertEqual(DurationText.render(1_500_000), "1500us")
        XCTAssertNil(DurationText.parse("ms"))
        XCTAssertNil(DurationText.parse("1e3ms"))
    }
}
