// The load generator's request log (`timeslice run --trace` on a server configuration): one
// line per measured, answered request, `intended_ns,sent_ns,completed_ns,type,connection`, times on
// CLOCK_MONOTONIC (the runtime trace's `origin_monotonic_ns` is on the same clock), so that a
// slow request can be lined up with what the server was doing meanwhile. Dropped and
// timed-out requests are not in it (they are counted in results.json). Written once, after
// the measurement, from memory, so logging costs the hot loop an append and, per send, one
// store of its time (sent − intended is the generator's own lag for that request).
import Foundation

struct RequestLogEntry: Equatable {
    var intended: UInt64
    var sent: UInt64
    var completed: UInt64
    var type: UInt8
    var connection: UInt16

    /// Writes the log as CSV with a header naming the types (`# types: 0=short 1=long`).
    static func write(_ entries: [RequestLogEntry], types: [ServerRequestType], to path: String) throws {
        var text = "# types: " + types.enumerated().map { "\($0.offset)=\($0.element.name)" }.joined(separator: " ") + "\n"
        text += "intended_ns,sent_ns,completed_ns,type,connection\n"
        text.reserveCapacity(entries.count * 60)
        for e in entries { text += "\(e.intended),\(e.sent),\(e.completed),\(e.type),\(e.connection)\n" }
        do {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
        } catch {
            throw WorkloadFailure("cannot write the request log \(path): \(error.localizedDescription)")
        }
    }
}
