// The offered load of an open-loop workload, as written in experiment files: an absolute rate
// (a number, requests per second) or a fraction of the configuration's capacity (a string
// "50%"). The `rate` matrix axis and the server workload's `rate` field take the same values,
// read by `OfferedRate.decode`, rendered by `text` (ids) and `json`.
public enum OfferedRate: Hashable, Sendable {
    case perSecond(Double)
    /// 0.5 = half of the capacity the load generator measured at the start of the configuration.
    case capacityFraction(Double)

    /// "50%" or "20000".
    public var text: String {
        switch self {
        case .perSecond(let r): return r == r.rounded() ? String(Int64(r)) : String(r)
        case .capacityFraction(let f):
            let percent = f * 100
            return (percent == percent.rounded() ? String(Int64(percent)) : String(percent)) + "%"
        }
    }

    public var json: JSONValue {
        switch self {
        case .perSecond(let r): return .real(r)
        case .capacityFraction: return .string(text)
        }
    }

    /// Requests per second for a measured `capacity` (requests per second).
    public func perSecond(capacity: Double) -> Double {
        switch self {
        case .perSecond(let r): return r
        case .capacityFraction(let f): return f * capacity
        }
    }

    public static let help = "a rate in requests per second (a number >= 1) or a fraction of capacity (a string such as \"50%\", above 0% and at most 200%)"

    public static func decode(_ v: JSONValue, at p: JSONPath) throws -> OfferedRate {
        switch v {
        case .integer, .real:
            return .perSecond(try ObjectReader.double(v, at: p, min: 1, max: 10_000_000))
        case .string(let s) where s.hasSuffix("%"):
            guard let percent = Double(s.dropLast()), percent > 0, percent <= 200 else {
                throw p.error("\"\(s)\" is not a usable fraction of capacity; expected \(help)")
            }
            return .capacityFraction(percent / 100)
        default:
            throw p.error("expected \(help), found \(v.typeName) \(v.rendered)")
        }
    }
}

/// Encoded as in experiment files (20000 or "50%") and decoded by the same reader.
extension OfferedRate: Codable {
    public init(from decoder: Decoder) throws {
        self = try OfferedRate.decode(try JSONValue(from: decoder), at: .root)
    }

    public func encode(to encoder: Encoder) throws { try json.encode(to: encoder) }
}
