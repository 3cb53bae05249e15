// Strict reading of one JSON object: every key must be consumed by exactly one `take…` call,
// and `finish()` rejects whatever is left, naming the keys that would have been accepted.
// This is how unknown keys ("repetiton") are caught before anything runs.
import TimesliceHost
public struct ObjectReader {
    public let path: JSONPath
    private let object: [String: JSONValue]
    private var consumed: Set<String> = []
    private var known: [String] = []

    public init(_ value: JSONValue, at path: JSONPath) throws {
        guard case .object(let o) = value else {
            throw path.error("expected an object, found \(value.typeName)")
        }
        self.object = o
        self.path = path
    }

    public var keys: [String] { object.keys.sorted() }

    /// Returns the raw value of `key` (nil when absent or null) and marks the key as known.
    public mutating func raw(_ key: String) -> JSONValue? {
        known.append(key)
        consumed.insert(key)
        guard let v = object[key] else { return nil }
        if case .null = v { return nil }
        return v
    }

    public func has(_ key: String) -> Bool { object[key] != nil }

    public mutating func string(_ key: String) throws -> String? {
        guard let v = raw(key) else { return nil }
        return try Self.string(v, at: path.key(key))
    }

    public mutating func int(_ key: String, min: Int64? = nil, max: Int64? = nil) throws -> Int? {
        guard let v = raw(key) else { return nil }
        return try Self.int(v, at: path.key(key), min: min, max: max)
    }

    public mutating func bool(_ key: String) throws -> Bool? {
        guard let v = raw(key) else { return nil }
        return try Self.bool(v, at: path.key(key))
    }

    public mutating func double(_ key: String, min: Double? = nil, max: Double? = nil) throws -> Double? {
        guard let v = raw(key) else { return nil }
        return try Self.double(v, at: path.key(key), min: min, max: max)
    }

    /// A duration string such as "1ms"; `min`/`max` in nanoseconds.
    public mutating func duration(_ key: String, min: UInt64 = 0, max: UInt64? = nil) throws -> UInt64? {
        guard let v = raw(key) else { return nil }
        return try Self.duration(v, at: path.key(key), min: min, max: max)
    }

    public mutating func oneOf(_ key: String, _ allowed: [String]) throws -> String? {
        guard let v = raw(key) else { return nil }
        return try Self.oneOf(v, allowed, at: path.key(key))
    }

    /// Rejects keys that no `take` call asked for. Call last.
    public func finish() throws {
        let unknown = Set(object.keys).subtracting(consumed).sorted()
        guard let first = unknown.first else { return }
        throw path.key(first).error(
            "unknown key \"\(first)\"; allowed keys here: \(known.sorted().joined(separator: ", "))")
    }

    // MARK: Scalar readers shared with array elements.

    public static func string(_ v: JSONValue, at p: JSONPath) throws -> String {
        guard case .string(let s) = v else { throw p.error("expected a string, found \(v.typeName) \(v.rendered)") }
        return s
    }

    public static func int(_ v: JSONValue, at p: JSONPath, min: Int64? = nil, max: Int64? = nil) throws -> Int {
        guard case .integer(let i) = v else {
            throw p.error("expected an integer, found \(v.typeName) \(v.rendered)")
        }
        if let min, i < min { throw p.error("\(i) is below the minimum \(min)") }
        if let max, i > max { throw p.error("\(i) is above the maximum \(max)") }
        return Int(i)
    }

    public static func double(_ v: JSONValue, at p: JSONPath, min: Double? = nil, max: Double? = nil) throws -> Double {
        let d: Double
        switch v {
        case .integer(let i): d = Double(i)
        case .real(let r): d = r
        default: throw p.error("expected a number, found \(v.typeName) \(v.rendered)")
        }
        if let min, d < min { throw p.error("\(d) is below the minimum \(min)") }
        if let max, d > max { throw p.error("\(d) is above the maximum \(max)") }
        return d
    }

    public static func bool(_ v: JSONValue, at p: JSONPath) throws -> Bool {
        guard case .bool(let b) = v else { throw p.error("expected true or false, found \(v.typeName) \(v.rendered)") }
        return b
    }

    public static func duration(_ v: JSONValue, at p: JSONPath, min: UInt64 = 0, max: UInt64? = nil) throws -> UInt64 {
        guard case .string(let s) = v else {
            throw p.error("expected a duration string such as \"10ms\" (units \(DurationText.allowedUnits)), found \(v.typeName) \(v.rendered)")
        }
        if s.trimmingCharacters(in: .whitespaces).hasPrefix("-") {
            throw p.error("\"\(s)\" is negative; durations must be positive")
        }
        guard let ns = DurationText.parse(s) else {
            throw p.error("\"\(s)\" is not a duration; write a number and a unit (\(DurationText.allowedUnits)), e.g. \"10ms\"")
        }
        if ns < min { throw p.error("\"\(s)\" is below the minimum \(DurationText.render(min))") }
        if let max, ns > max { throw p.error("\"\(s)\" is above the maximum \(DurationText.render(max))") }
        return ns
    }

    public static func oneOf(_ v: JSONValue, _ allowed: [String], at p: JSONPath) throws -> String {
        guard case .string(let s) = v else {
            throw p.error("expected one of \(allowed.joined(separator: ", ")), found \(v.typeName) \(v.rendered)")
        }
        guard allowed.contains(s) else {
            throw p.error("\"\(s)\" is not one of \(allowed.joined(separator: ", "))")
        }
        return s
    }

    /// A non-empty array, each element read by `element`.
    public static func list<T>(_ v: JSONValue, at p: JSONPath, _ element: (JSONValue, JSONPath) throws -> T) throws -> [T] {
        guard case .array(let a) = v else { throw p.error("expected a list, found \(v.typeName) \(v.rendered)") }
        guard !a.isEmpty else { throw p.error("the list is empty; give at least one value") }
        return try a.enumerated().map { try element($0.element, p.index($0.offset)) }
    }
}

import Foundation
