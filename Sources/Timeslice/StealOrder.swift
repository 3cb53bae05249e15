// The order in which a spinning M visits victims: a random start and a random
// stride coprime with the number of Ps, so every P is visited exactly once per
// round and different thieves start at different victims (Go's randomOrder).
struct StealOrder {
    private(set) var count: Int = 0
    private var coprimes: [Int] = []

    init(count: Int) { reset(count: count) }

    mutating func reset(count: Int) {
        self.count = count
        coprimes = (1...max(count, 1)).filter { gcd($0, count) == 1 }
    }

    /// The positions 0..<count, each exactly once, in the order given by `random`.
    func visit(random: UInt32) -> Enumeration {
        Enumeration(count: count, position: count == 0 ? 0 : Int(random % UInt32(count)),
                    stride: coprimes[Int(random % UInt32(coprimes.count))])
    }

    struct Enumeration: Sequence, IteratorProtocol {
        let count: Int
        var position: Int
        let stride: Int
        var visited = 0
        mutating func next() -> Int? {
            guard visited < count else { return nil }
            defer { visited += 1; position = (position + stride) % count }
            return position
        }
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return a
}

/// One victim of a steal attempt and the NUMA node its P is confined to (nil when
/// its CPUs are not within one node); `Runtime.stealVisitOrder`.
public struct StealVisit: Codable, Equatable, Sendable {
    public var victim: Int
    public var node: Int?
}

/// Per-M xorshift generator for steal order and sampling: cheap, no locks.
struct FastRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt32 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt32(truncatingIfNeeded: state >> 16)
    }
}
