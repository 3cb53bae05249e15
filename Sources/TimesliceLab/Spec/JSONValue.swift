// A JSON tree that keeps the distinction between booleans, integers, reals and strings.
//
// Why not decode the spec with synthesized Codable: a synthesized decoder silently ignores
// unknown keys and reports wrong types with coding paths that users cannot read. Walking
// this tree instead lets `SpecDecoder` reject every unknown key and name the exact JSON path
// ("matrix.preemption[1]") and the allowed values in each message.
import Foundation

public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case real(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// What a user would call this value's type, for "expected X, found Y" messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .real: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// A short rendering of the value for messages, e.g. `"asynch"` or `12`.
    public var rendered: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[\(a.map(\.rendered).joined(separator: ", "))]"
        case .object(let o): return "{\(o.keys.sorted().map { "\"\($0)\": \(o[$0]!.rendered)" }.joined(separator: ", "))}"
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        // Order matters: Bool before numbers (JSONDecoder refuses 0/1 as Bool, and true as a
        // number), Int64 before Double so that 3 stays an integer and 3.5 does not.
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int64.self) { self = .integer(i); return }
        if let d = try? c.decode(Double.self) { self = .real(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        if let o = try? c.decode([String: JSONValue].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .real(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
