// Parsing cyclictest's verbose output (`-v -N`): one line per wake-up,
// "<thread>:<cycle>:<latency>", latency in nanoseconds because of -N; other lines are headers
// ("Thread 0 Interval: 1000", "Max CPUs = 2", ...). Verbose mode rather than the histogram
// (-h/--histfile): it keeps nanoseconds (the histogram has 1 µs buckets) and the cycle
// number, so warm-up cycles are discarded exactly as the lab's probe discards them.
import Foundation

struct CyclictestOutput: Equatable {
    struct Sample: Equatable {
        var thread: Int
        var cycle: UInt64
        var latencyNanoseconds: UInt64
    }

    var samples: [Sample] = []
    /// "Thread N Interval: X" as reported, in µs (cyclictest may shift threads' intervals by -d).
    var intervalsMicroseconds: [Int: UInt64] = [:]

    init(parsing text: String) throws {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("Thread "), let r = trimmed.range(of: " Interval: "),
               let t = Int(trimmed[trimmed.index(trimmed.startIndex, offsetBy: 7)..<r.lowerBound]),
               let v = UInt64(trimmed[r.upperBound...].trimmingCharacters(in: .whitespaces)) {
                intervalsMicroseconds[t] = v
                continue
            }
            let f = trimmed.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count == 3, let t = Int(f[0]), let c = UInt64(f[1]) else { continue }
            guard let v = UInt64(f[2]) else {
                throw CyclictestParseError(message: "cyclictest sample \"\(trimmed)\" has no latency")
            }
            samples.append(Sample(thread: t, cycle: c, latencyNanoseconds: v))
        }
    }
}

struct CyclictestParseError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

