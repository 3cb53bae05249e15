// The Foundation-heavy preemption stress workload, shared by the test suite
// (Tests/TimesliceTests/PreemptionStressTests.swift, dynamic stdlib) and the
// timeslice-stress program (`make static-stress`, --static-swift-stdlib): goroutine
// bodies that live in the hazardous places for async preemption at 50 µs slices —
// allocation, Codable, date formatting, time zones, lazy statics (swift_once)
// including initializers that park the goroutine, system calls inside and outside
// blockingCall, exclusivity-checked accesses. Each returns whether it computed the
// right answer.
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

public enum StressWorkloads {
    public static func lazyParking(_ seed: Int) -> Bool {
        switch seed % 4 {
        case 0: ParkingLazy.a + ParkingLazy.b == 3
        case 1: ParkingLazy.b + ParkingLazy.c == 5
        case 2: ParkingLazy.c + ParkingLazy.d == 7
        default: ParkingLazy.d + ParkingLazy.a == 5
        }
    }

    public static func allocationHeavy(_ seed: Int) -> Bool {
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

    public static func foundationHeavy(_ seed: Int) -> Bool {
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

    public static func syscallHeavy(_ seed: Int) -> Bool {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return false }
        defer { close(fds[0]); close(fds[1]) }
        var ok = true
        for i in 0..<20 {
            var out = UInt64(seed * 100 + i)
            var back: UInt64 = 0
            // A pipe write/read pair outside blockingCall: interrupted by SIGURG,
            // SA_RESTART restarts them; the values must survive.
            let w = withUnsafeBytes(of: &out) { write(fds[1], $0.baseAddress, 8) }
            let r = withUnsafeMutableBytes(of: &back) { read(fds[0], $0.baseAddress, 8) }
            ok = ok && w == 8 && r == 8 && back == out
            var ts = timespec(tv_sec: 0, tv_nsec: 20_000)
            blockingCall { _ = nanosleep(&ts, nil) }
        }
        return ok
    }

    public static func exclusivityHeavy(_ seed: Int) -> Bool {
        let account = Account()
        for i in 0..<2000 { bump(&account.balance, by: i % 3) }
        return account.balance == (0..<2000).reduce(0) { $0 + $1 % 3 }
    }
}

@inline(never)
func bump(_ x: inout Int, by n: Int) {
    var spin = 0
    for k in 0..<50 { spin &+= k }   // keep the access open for a while
    x += n + (spin == -1 ? 1 : 0)
}
