// The Foundation-heavy preemption stress workload as a program of its own, so that
// `make static-stress` can build it with --static-swift-stdlib (the Swift runtime,
// Foundation, Dispatch and ICU inside the executable) and run it many times: async
// preemption at 50 µs slices against allocation, Codable, date formatting, time
// zones, lazy statics (swift_once) including initializers that park the goroutine,
// system calls and exclusivity-checked accesses.
// Exit 0 with "OK" when every goroutine computed the right answer; a hang is the
// caller's deadline (timeout) to catch. Usage: timeslice-stress [goroutines] [maxProcs]
import Foundation
import Glibc
import Timeslice

final class Account { var balance = 0 }

enum Lazy {
    static let table: [String: Int] = Dictionary(uniqueKeysWithValues: (0..<64).map { ("k\($0)", $0) })
    static let zone = TimeZone(identifier: "Europe/Paris")
}

/// Lazy statics whose initializers park the goroutine (sleep, yield) while the Swift
/// runtime's once lock, owned by the OS thread, is held (CTimeslice/include/ts_once.h).
func parkingInitializer(_ value: Int) -> Int {
    Timeslice.sleep(for: .milliseconds(1))
    for _ in 0..<10 { Timeslice.yield() }
    return value
}
enum ParkingLazy {
    static let a = parkingInitializer(1)
    static let b = parkingInitializer(2)
    static let c = parkingInitializer(3)
    static let d = parkingInitializer(4)
}

func lazyParking(_ seed: Int) -> Bool {
    switch seed % 4 {
    case 0: ParkingLazy.a + ParkingLazy.b == 3
    case 1: ParkingLazy.b + ParkingLazy.c == 5
    case 2: ParkingLazy.c + ParkingLazy.d == 7
    default: ParkingLazy.d + ParkingLazy.a == 5
    }
}

func allocationHeavy(_ seed: Int) -> Bool {
    var total = 0
    for round in 0..<40 {
        var dict: [String: [Int]] = [:]
        for k in 0..<20 { dict["k\(k)-\(seed)"] = Array(0..<(k + round % 5)) }
        let objects = (0..<20).map { i -> Account in let a = Account(); a.balance = i; return a }
        total += dict.values.reduce(0) { $0 + $1.count } + objects.reduce(0) { $0 + $1.balance }
    }
    var expected = 0
    for round in 0..<40 { expected += (0..<20).reduce(0) { $0 + $1 + round % 5 } + 190 }
    return total == expected
}

func foundationHeavy(_ seed: Int) -> Bool {
    struct Row: Codable, Equatable { let id: Int; let name: String; let values: [Double] }
    let encoder = JSONEncoder()
    let decoder = JSONDecoder()
    let formatter = ISO8601DateFormatter()
    for i in 0..<10 {
        let row = Row(id: seed + i, name: "row \(seed)", values: [1.5, Double(i)])
        guard let data = try? encoder.encode(row), let back = try? decoder.decode(Row.self, from: data),
              back == row else { return false }
        let date = Date(timeIntervalSince1970: Double(seed * 1000 + i))
        guard let parsed = formatter.date(from: formatter.string(from: date)), parsed == date else { return false }
        guard TimeZone(identifier: ["UTC", "Asia/Tokyo", "America/New_York"][i % 3]) != nil,
              Lazy.zone != nil, Lazy.table["k\(i)"] == i else { return false }
    }
    return true
}

func syscallHeavy(_ seed: Int) -> Bool {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return false }
    defer { close(fds[0]); close(fds[1]) }
    var ok = true
    for i in 0..<20 {
        var out = UInt64(seed * 100 + i)
        var back: UInt64 = 0
        let w = withUnsafeBytes(of: &out) { write(fds[1], $0.baseAddress, 8) }
        let r = withUnsafeMutableBytes(of: &back) { read(fds[0], $0.baseAddress, 8) }
        ok = ok && w == 8 && r == 8 && back == out
    }
    return ok
}

@inline(never)
func bump(_ x: inout Int, by n: Int) {
    var spin = 0
    for k in 0..<50 { spin &+= k }
    x += n + (spin == -1 ? 1 : 0)
}

func exclusivityHeavy(_ seed: Int) -> Bool {
    let account = Account()
    for i in 0..<2000 { bump(&account.balance, by: i % 3) }
    return account.balance == (0..<2000).reduce(0) { $0 + $1 % 3 }
}

let arguments = CommandLine.arguments
let goroutines = arguments.count > 1 ? Int(arguments[1]) ?? 1000 : 1000
let maxProcs = arguments.count > 2 ? Int(arguments[2]) ?? 2 : 2
var configuration = RuntimeConfiguration(maxProcs: maxProcs, preemption: .async, timeSliceNanoseconds: 50_000)
configuration.schedtraceMilliseconds = nil
let (passed, counters) = Runtime.run(configuration) { () -> (Int, RuntimeCounters) in
    let results = Channel<Bool>(capacity: goroutines)
    for i in 0..<goroutines {
        switch i % 5 {
        case 0: go { results.send(allocationHeavy(i)) }
        case 1: go { results.send(foundationHeavy(i)) }
        case 2: go { results.send(syscallHeavy(i)) }
        case 3: go { results.send(lazyParking(i / 5)) }
        default: go { results.send(exclusivityHeavy(i)) }
        }
    }
    var passed = 0
    for _ in 0..<goroutines where results.receive()! { passed += 1 }
    return (passed, Runtime.counters)
}
let line = "\(passed == goroutines ? "OK" : "FAIL") \(passed)/\(goroutines) delivered \(counters.preemptionsDelivered) "
    + "refused: foreignPC \(counters.preemptionsRefusedForeignPC) foreignCaller \(counters.preemptionsRefusedForeignCaller) "
    + "brokenChain \(counters.preemptionsRefusedBrokenChain) deep \(counters.preemptionsRefusedDeep) "
    + "stack \(counters.preemptionsRefusedStackSpace) deferred: lock \(counters.preemptionsDeferredLockHeld) "
    + "section \(counters.preemptionsDeferredRuntimeSection) once wirings \(counters.onceWirings)"
print(line)
exit(passed == goroutines ? 0 : 1)
