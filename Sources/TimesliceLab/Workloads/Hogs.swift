// CPU hogs that compete with a probe. The kinds differ in where they can be preempted:
//   tight    pure arithmetic: no call, no safe point; only async preemption stops it
//   polling  like tight but calls a poll hook each round (`preemptionPoint()` in the runtime)
//   alloc    malloc/free in a loop: spends its time inside libc, where async preemption must defer
//   syscall  getppid(2) in a loop: spends its time in the kernel
// Every hog checks the stop flag between rounds (a relaxed load, not a preemption point), so
// that even a cooperative run that starved the probe ends when the window closes.
#if canImport(Glibc)
import Glibc
#endif

public enum HogKind: String, Codable, CaseIterable, Sendable {
    case tight, polling, alloc, syscall
}

public enum Hog {
    /// Runs until `stop` is set; returns the number of rounds done (a counter for results).
    /// `poll` is called once per round by the `polling` kind only.
    public static func run(_ kind: HogKind, stop: StopFlag, poll: () -> Void = {}) -> UInt64 {
        var rounds: UInt64 = 0
        var x: UInt64 = 0x2545_F491_4F6C_DD1D
        while !stop.isSet {
            switch kind {
            case .tight:
                // About 10 µs of xorshift; the result feeds the next round so it cannot be elided.
                for _ in 0..<4_000 { x ^= x << 13; x ^= x >> 7; x ^= x << 17 }
            case .polling:
                for _ in 0..<4_000 { x ^= x << 13; x ^= x >> 7; x ^= x << 17 }
                poll()
            case .alloc:
                for _ in 0..<16 {
                    let p = malloc(Int(64 + (x & 4095)))!
                    memset(p, Int32(x & 0xff), 64)
                    x = x &+ UInt64(p.load(as: UInt8.self))
                    free(p)
                    x ^= x << 13; x ^= x >> 7; x ^= x << 17
                }
            case .syscall:
                for _ in 0..<8 { x = x &+ UInt64(getppid()) }
            }
            rounds &+= 1
        }
        blackHole(x)
        return rounds
    }
}

/// Keeps a value alive so the optimizer cannot delete the loop that computed it.
@inline(never)
public func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }
