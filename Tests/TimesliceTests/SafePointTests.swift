// Safe points that do not depend on how the program is linked, deep stacks, and
// SIGURG owned by the runtime (CTimeslice/safe_text.c, preempt.c, signal_interpose.c;
// docs/ARCHITECTURE.md "Preemption protocol and safe points").
//
// The range builder is unit-tested on this very executable (a --static-swift-stdlib
// build cannot be made inside XCTest: `make static-stress` covers that). The
// scenarios that could hang run in a child process (this test binary, re-executed)
// under a deadline, at maxProcs 1, async, 1 ms slices:
//   deep        a hog spinning 2000 frames deep; a sleeping goroutine must get to run
//   sigmask     a hog that blocked SIGURG with pthread_sigmask; same
//   sighandler  signal(SIGURG, handler) installed by user code; same, and the user's
//               handler still receives a SIGURG sent with kill()
// Outside the suite:
//   TIMESLICE_SAFEPOINT_CHILD=deep timeout 30 .build/debug/TimeslicePackageTests.xctest \
//     TimesliceTests.SafePointTests/testSafePointScenarioChild
import CTimeslice
import Foundation
import Glibc
import Synchronization
@testable import Timeslice
import XCTest

final class SafePointTests: XCTestCase {
    static let childVariable = "TIMESLICE_SAFEPOINT_CHILD"
    static let runs = 3

    // MARK: Range builder

    func testSymbolNamesOfRuntimeAndLibrariesAreForeign() {
        let foreign = ["swift_retain", "swift_getTypeByMangledNameInContext", "swift_once",
                       "_ZN5swift9Demangle4NodeD2Ev", "$ss5print_9separator10terminatoryypd_S2StF",
                       "$sSS5countSivg", "$sSa6appendyyxnF", "$sScT5sleep11nanosecondsys6UInt64V_tYaKFZ",
                       "$s10Foundation4DateV3nowACvgZ", "$s20FoundationEssentials8TimeZoneV10identifierACSgSS_tcfC",
                       "$s30FoundationInternationalization8CalendarV", "$sSS10FoundationE4dataSgSS",
                       "$s8Dispatch0A5QueueC", "_dispatch_once_f_slow", "dispatch_async",
                       "CFStringCreateWithCString", "__CFStringHash", "_CFRuntimeCreateInstance",
                       "u_strlen_74", "ucol_open_74", "_ZN6icu_748TimeZone14createTimeZoneERKNS_13UnicodeStringE",
                       "_Block_copy"]
        for name in foreign {
            XCTAssertEqual(ts_symbol_name_is_foreign(name), 1, "\(name) should be foreign")
        }
        let user = ["main", "ts_monotonic_ns", "$s9Timeslice2goyyyycF", "$s14TimesliceTests4spinyyF",
                    "$sSS14TimesliceTestsE5shoutSSvg",            // user extension of String
                    "$sSo8NSStringC", "$sSa6appendyyxnFSi_Tg5",    // imported type; a specialization
                    "$s9TimesliceAA7RuntimeV3runyxAA0B13ConfigurationV_xyctlFZ"]
        for name in user {
            XCTAssertEqual(ts_symbol_name_is_foreign(name), 0, "\(name) should be user code")
        }
    }

    func testRangeBuilderClassifiesThisExecutable() {
        XCTAssertNil(AsyncPreemption.install())
        XCTAssertEqual(Int(ts_symtab_status()), Int(TS_SYMTAB_FULL), "the test binary has a .symtab")
        // A function of the machine layer named like a runtime entry point: excluded from
        // main text, exactly as libswiftCore's swift_* would be when linked statically.
        let probe: @convention(c) (Int32) -> Int32 = swift_timeslice_selftest_probe
        let probeAddress = UInt(bitPattern: unsafeBitCast(probe, to: Int.self))
        XCTAssertEqual(Int(ts_pc_class(probeAddress)), Int(TS_PC_EXCLUDED))
        XCTAssertGreaterThan(ts_excluded_range_count(), 0)
        // User code: the test's own functions and the runtime's C.
        let own: @convention(c) () -> UInt64 = { ts_monotonic_ns() }
        XCTAssertEqual(Int(ts_pc_class(UInt(bitPattern: unsafeBitCast(own, to: Int.self)))), Int(TS_PC_SAFE))
        let runtimeC: @convention(c) () -> UInt64 = ts_monotonic_ns
        XCTAssertEqual(Int(ts_pc_class(UInt(bitPattern: unsafeBitCast(runtimeC, to: Int.self)))), Int(TS_PC_SAFE))
        // The Swift runtime, Foundation and Dispatch: foreign wherever they are (shared
        // objects here; excluded ranges of the executable with --static-swift-stdlib).
        // (Not swift_once: RTLD_DEFAULT finds the runtime's interposer, once_interpose.c,
        // which is this project's code; the runtime's own once is behind it.)
        for name in ["swift_retain", "swift_getTypeByMangledNameInContext", "swift_allocObject",
                     "dispatch_async_f", "CFStringCreateWithCString", "u_strlen"] {
            guard let symbol = dlsym(nil /* RTLD_DEFAULT */, name) else { continue }
            XCTAssertEqual(ts_pc_is_foreign_code(UInt(bitPattern: symbol)), 1, "\(name) is classified safe")
        }
    }

    // MARK: The frame-pointer walk, on synthetic stacks

    /// Builds `depth` frames in a fake stack, innermost first; each frame's return address
    /// is `returnAddress(i)`, and the outermost links to `outerLink` (0: an entry frame).
    private func chainVerdict(depth: Int, returnAddress: (Int) -> UInt, outerLink: UInt? = nil) -> Int32 {
        let words = depth * 2 + 64
        let stack = UnsafeMutablePointer<UInt>.allocate(capacity: words)
        defer { stack.deallocate() }
        stack.initialize(repeating: 0, count: words)
        var g = ts_g()
        g.stack_lo = UInt(bitPattern: stack)
        g.stack_hi = UInt(bitPattern: stack + words)
        let base = 16   // frames from word 16 upward: [saved rbp, return address]
        for i in 0..<depth {
            let frame = stack + base + 2 * i
            frame[0] = i + 1 < depth ? UInt(bitPattern: frame + 2) : (outerLink ?? 0)
            frame[1] = returnAddress(i)
        }
        let fp = UInt(bitPattern: stack + base)
        return ts_frame_chain_check(UInt(bitPattern: stack + 8), fp, &g)
    }

    func testFrameChainMustReachTheEntryFrame() {
        XCTAssertNil(AsyncPreemption.install())
        let user: @convention(c) () -> UInt64 = { ts_monotonic_ns() }
        let safe = UInt(bitPattern: unsafeBitCast(user, to: Int.self)) + 1
        let probe: @convention(c) (Int32) -> Int32 = swift_timeslice_selftest_probe
        let foreign = UInt(bitPattern: unsafeBitCast(probe, to: Int.self)) + 1
        let entry = ts_goroutine_entry_return_address()
        // Reaches the entry frame through user code: safe, however deep (no 512 limit).
        for depth in [1, 10, 600, 5000] {
            XCTAssertEqual(Int(chainVerdict(depth: depth) { $0 == depth - 1 ? entry : safe }), Int(TS_REFUSE_NONE), "depth \(depth)")
        }
        // A chain that stops (saved rbp 0) or points down before the entry frame: code
        // without frame pointers somewhere; refused, not "end of chain".
        XCTAssertEqual(Int(chainVerdict(depth: 20) { _ in safe }), Int(TS_REFUSE_BROKEN_CHAIN))
        XCTAssertEqual(Int(chainVerdict(depth: 20, returnAddress: { _ in safe }, outerLink: 8)), Int(TS_REFUSE_BROKEN_CHAIN))
        // ...or leaves the goroutine's stack (rbp used as a general register).
        XCTAssertEqual(Int(chainVerdict(depth: 20, returnAddress: { _ in safe }, outerLink: UInt.max - 4095)),
                       Int(TS_REFUSE_BROKEN_CHAIN))
        // A foreign caller (here: code named like the Swift runtime, in the excluded ranges).
        XCTAssertEqual(Int(chainVerdict(depth: 20) { $0 == 19 ? entry : $0 == 7 ? foreign : safe }), Int(TS_REFUSE_FOREIGN_CALLER))
    }

    /// A foreign caller whose code after the call is only an epilogue (Swift witness thunks
    /// and forwarding wrappers in shared libraries, e.g. NSLock's NSLocking.unlock in
    /// libFoundation) holds nothing: the walk passes it. One with any other instruction
    /// left is refused. The code lives in a heap buffer, which is foreign by address.
    func testForeignCallerWithOnlyAnEpilogueLeftIsTransparent() {
        XCTAssertNil(AsyncPreemption.install())
        let user: @convention(c) () -> UInt64 = { ts_monotonic_ns() }
        let safe = UInt(bitPattern: unsafeBitCast(user, to: Int.self)) + 1
        let entry = ts_goroutine_entry_return_address()
        let code: [[UInt8]] = [
            [0x48, 0x83, 0xc4, 0x08, 0x41, 0x5d, 0x5d, 0xc3],   // add $8,%rsp; pop %r13; pop %rbp; ret
            [0xc9, 0xc3],                                         // leave; ret
            [0x48, 0x8b, 0x05, 0x61, 0x4b, 0x0d, 0x00, 0xc3],   // mov x(%rip),%rax; ret: work after the call
            [0x5d, 0xe9, 0x00, 0x00, 0x00, 0x00],                 // pop %rbp; jmp: not an epilogue
        ]
        let expected = [TS_REFUSE_NONE, TS_REFUSE_NONE, TS_REFUSE_FOREIGN_CALLER, TS_REFUSE_FOREIGN_CALLER]
        for (bytes, verdict) in zip(code, expected) {
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: 0xcc, count: 32)   // int3 after the bytes
            for (i, b) in bytes.enumerated() { buffer[i] = b }
            let foreign = UInt(bitPattern: buffer)
            XCTAssertEqual(ts_pc_is_async_safe(foreign), 0, "a heap address must be foreign")
            XCTAssertEqual(Int(chainVerdict(depth: 8) { $0 == 7 ? entry : $0 == 3 ? foreign : safe }), Int(verdict),
                           "\(bytes.map { String($0, radix: 16) })")
        }
    }

    // MARK: Scenarios in a child

    func testDeepRecursionHogIsPreempted() { runScenario("deep") }
    func testHogThatBlockedSIGURGIsPreempted() { runScenario("sigmask") }
    func testUserSIGURGHandlerIsChainedNotReplacing() { runScenario("sighandler") }

    private func runScenario(_ scenario: String, file: StaticString = #filePath, line: UInt = #line) {
        for run in 0..<Self.runs {
            let (status, output) = Self.runChild(scenario: scenario, deadline: 30)
            XCTAssertEqual(status, 0, "\(scenario) run \(run): \(output)", file: file, line: line)
            XCTAssertTrue(output.contains("OK \(scenario)"), "\(scenario) run \(run): \(output)", file: file, line: line)
            if status != 0 { return }
        }
    }

    /// Runs one scenario in a child; status -1 when it missed the deadline (killed).
    static func runChild(scenario: String, deadline: Double) -> (Int32, String) {
        ChildScenario.run(test: "TimesliceTests.SafePointTests/testSafePointScenarioChild", variable: childVariable,
                          value: scenario, deadline: deadline)
    }

    func testSafePointScenarioChild() {
        guard let scenario = ProcessInfo.processInfo.environment[Self.childVariable] else { return }
        let (ok, detail) = runSafePointScenario(scenario)
        print(ok ? "OK \(scenario): \(detail)" : "FAIL \(scenario): \(detail)")
        fflush(stdout)
        exit(ok ? 0 : 1)
    }
}

private let userHandlerCalls = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)

/// A goroutine spins (in `hog`) until a goroutine that slept 5 ms sets the flag: at
/// maxProcs 1 that can only end if the hog is preempted.
private func runSafePointScenario(_ scenario: String) -> (Bool, String) {
    var configuration = RuntimeConfiguration(maxProcs: 1, preemption: .async, timeSliceNanoseconds: 1_000_000)
    configuration.schedtraceMilliseconds = nil
    configuration.stackSize = 4 << 20
    userHandlerCalls.initialize(to: 0)
    if scenario == "sighandler" {
        _ = AsyncPreemption.install()   // the runtime owns SIGURG first; the user's comes after
    }
    return Runtime.run(configuration) { () -> (Bool, String) in
        let flag = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        flag.initialize(to: 0)
        if scenario == "sighandler" {
            let previous = signal(SIGURG) { _ in ts_store_u32(userHandlerCalls, ts_load_u32(userHandlerCalls) + 1) }
            guard unsafeBitCast(previous, to: Int.self) == 0 else { return (false, "signal() returned a handler: the runtime's leaked") }
        }
        let done = Channel<Int>(capacity: 2)
        go {
            sleep(nanoseconds: 5_000_000)
            ts_store_u32(flag, 1)
            done.send(0)
        }
        go {
            switch scenario {
            case "deep": done.send(recurse(2000, flag))
            case "sigmask":
                var set = sigset_t()
                sigemptyset(&set)
                sigaddset(&set, SIGURG)
                pthread_sigmask(SIG_BLOCK, &set, nil)
                done.send(hog(flag))
            default: done.send(hog(flag))
            }
        }
        let a = done.receive()!, b = done.receive()!
        let counters = Runtime.counters
        var detail = "depth \(max(a, b)), delivered \(counters.preemptionsDelivered), refused deep \(counters.preemptionsRefusedDeep), broken \(counters.preemptionsRefusedBrokenChain), sigmask stripped \(counters.sigurgBlockAttempts), handler replacements \(counters.sigurgHandlerReplacements)"
        switch scenario {
        case "deep":
            return (max(a, b) == 2000 && counters.preemptionsDelivered > 0, detail)
        case "sigmask":
            return (counters.preemptionsDelivered > 0 && counters.sigurgBlockAttempts > 0, detail)
        default:
            // The runtime's own preemption signals (tgkill from this process) never reached
            // the user's handler; a process-directed SIGURG is the user's.
            let callsBeforeKill = ts_load_u32(userHandlerCalls)
            detail += ", user handler calls before kill \(callsBeforeKill)"
            kill(getpid(), SIGURG)
            let deadline = ts_monotonic_ns() + 2_000_000_000
            while ts_load_u32(userHandlerCalls) == 0 && ts_monotonic_ns() < deadline { sleep(nanoseconds: 1_000_000) }
            detail += ", user handler calls \(ts_load_u32(userHandlerCalls)), forwarded \(Runtime.counters.sigurgForwarded)"
            return (counters.preemptionsDelivered > 0 && callsBeforeKill == 0 && ts_load_u32(userHandlerCalls) >= 1
                    && counters.sigurgHandlerReplacements > 0, detail)
        }
    }
}

@inline(never)
private func recurse(_ n: Int, _ flag: UnsafeMutablePointer<UInt32>) -> Int {
    if n == 0 { _ = hog(flag); return 0 }
    return recurse(n - 1, flag) + 1
}

@inline(never)
private func hog(_ flag: UnsafeMutablePointer<UInt32>) -> Int {
    var spins = 0
    while ts_load_u32(flag) == 0 { spins &+= 1 }
    return spins == -1 ? 1 : 0
}
