// The trace file's JSON, written as text (TraceRecorder.write). JSONSerialization over an
// array of [String: Any] took seconds for full rings (64 Ki events per thread): long enough,
// at the end of a bimodal-server run, for the lab's starvation monitor to call the
// configuration starved. Text costs one string append per event.
//
// Only what the trace needs: objects whose fields the caller renders (names and keys are
// fixed ASCII words; free text goes through `quoted`), numbers as integers or as
// microseconds with three decimals (the format's unit, to the nanosecond).
import Foundation

struct TraceJSONText {
    private var text = ""
    private var count = 0

    init() { text.reserveCapacity(1 << 20) }

    /// Appends one event object; `fields` is its content without the braces.
    mutating func event(_ fields: String) {
        text += count == 0 ? "\n{" : ",\n{"
        text += fields
        text += "}"
        count += 1
    }

    /// The whole document: `{"traceEvents":[…],"displayTimeUnit":"ns","otherData":{…}}`.
    func document(otherData: String) -> Data {
        Data(("{\"traceEvents\":[" + text + "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{" + otherData + "}}\n").utf8)
    }

    /// `nanoseconds` as microseconds, e.g. 1234567 → 1234.567.
    static func microseconds(_ nanoseconds: UInt64) -> String {
        let fraction = nanoseconds % 1000
        let digits = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return "\(nanoseconds / 1000).\(digits)"
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
